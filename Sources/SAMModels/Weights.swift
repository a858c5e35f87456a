import Checkpoints
import TensorMath

/// Reads parameters of one module out of a state dict, by key prefix, checking shapes.
struct WeightReader {
    let stateDict: StateDict
    let prefix: String

    init(_ stateDict: StateDict, prefix: String = "") {
        self.stateDict = stateDict
        self.prefix = prefix
    }

    func scoped(_ name: String) -> WeightReader {
        WeightReader(stateDict, prefix: prefix + name + ".")
    }

    func callAsFunction(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        let tensor = try stateDict.tensor(prefix + name)
        if let shape, tensor.shape != shape {
            throw CheckpointError(path: stateDict.source,
                                  problem: "tensor '\(prefix + name)' has shape \(tensor.shape), expected \(shape)")
        }
        return tensor
    }

    func contains(_ name: String) -> Bool { stateDict.contains(prefix + name) }
}

/// nn.Linear.
struct Linear {
    let weight: Tensor
    let bias: Tensor?

    /// `shape`, when given, is the expected [out, in].
    init(_ w: WeightReader, shape: [Int]? = nil, bias hasBias: Bool = true) throws {
        weight = try w("weight", shape: shape)
        bias = hasBias ? try w("bias", shape: [weight.shape[0]]) : nil
    }

    var outFeatures: Int { weight.shape[0] }

    func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
}

/// nn.LayerNorm over the last dimension, or SAM's LayerNorm2d over the channels of CHW maps.
struct LayerNorm {
    let weight: Tensor
    let bias: Tensor
    let eps: Float

    init(_ w: WeightReader, eps: Float) throws {
        weight = try w("weight")
        bias = try w("bias", shape: weight.shape)
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
    func channels(_ x: Tensor) -> Tensor { layerNorm2d(x, weight: weight, bias: bias, eps: eps) }
}

/// A stack of Linear layers with an activation between them (and optionally after the last).
struct MLP {
    enum Activation { case relu, gelu }
    let layers: [Linear]
    let activation: Activation

    init(layers: [Linear], activation: Activation) {
        self.layers = layers
        self.activation = activation
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var y = x
        for (i, layer) in layers.enumerated() {
            y = layer(y)
            if i < layers.count - 1 {
                switch activation {
                case .relu: reluInPlace(&y)
                case .gelu: geluInPlace(&y)
                }
            }
        }
        return y
    }
}

/// Extracts columns [start, start+width) of a [rows, cols] matrix.
func columns(_ x: Tensor, _ start: Int, _ width: Int) -> Tensor {
    let rows = x.shape[0], cols = x.shape[1]
    return Tensor(shape: [rows, width]) { out in
        x.data.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                (out.baseAddress! + r * width).update(from: p.baseAddress! + r * cols + start, count: width)
            }
        }
    }
}

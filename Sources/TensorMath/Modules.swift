/// nn.Linear: y = x·Wᵀ + b with W as [out, in].
public struct Linear: Sendable {
    public let weight: Tensor
    public let bias: Tensor?

    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    public var outFeatures: Int { weight.shape[0] }
    public var inFeatures: Int { weight.shape[1] }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
}

/// nn.LayerNorm over the last dimension, or SAM's LayerNorm2d over the channels of CHW maps.
public struct LayerNorm: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public init(weight: Tensor, bias: Tensor, eps: Float) {
        self.weight = weight
        self.bias = bias
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor, adding residual: Tensor? = nil) -> Tensor {
        layerNorm(x, adding: residual, weight: weight, bias: bias, eps: eps)
    }
    public func channels(_ x: Tensor) -> Tensor { layerNorm2d(x, weight: weight, bias: bias, eps: eps) }
}

/// A stack of Linear layers with an activation between them (none after the last).
public struct MLP: Sendable {
    public enum Activation: Sendable { case relu, gelu }
    public let layers: [Linear]
    public let activation: Activation

    public init(layers: [Linear], activation: Activation) {
        self.layers = layers
        self.activation = activation
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
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

/// Columns [start, start+width) of a [rows, cols] matrix.
public func columns(_ x: Tensor, _ start: Int, _ width: Int) -> Tensor {
    let rows = x.shape[0], cols = x.shape[1]
    return Tensor(shape: [rows, width]) { out in
        x.data.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                (out.baseAddress! + r * width).update(from: p.baseAddress! + r * cols + start, count: width)
            }
        }
    }
}

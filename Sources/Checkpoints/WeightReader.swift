import TensorMath

/// Reads the parameters of one module out of a state dict by key prefix, checking shapes, so
/// model code names tensors as the reference's modules do (`scoped("attn").callAsFunction("qkv.weight")`).
public struct WeightReader {
    public let stateDict: StateDict
    public let prefix: String

    public init(_ stateDict: StateDict, prefix: String = "") {
        self.stateDict = stateDict
        self.prefix = prefix
    }

    public func scoped(_ name: String) -> WeightReader {
        WeightReader(stateDict, prefix: prefix + name + ".")
    }

    public func callAsFunction(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        let tensor = try stateDict.tensor(prefix + name)
        if let shape, tensor.shape != shape {
            throw CheckpointError(path: stateDict.source,
                                  problem: "tensor '\(prefix + name)' has shape \(tensor.shape), expected \(shape)")
        }
        return tensor
    }

    public func contains(_ name: String) -> Bool { stateDict.contains(prefix + name) }
}

extension Linear {
    /// `weight` (and `bias`) under the reader's prefix; `shape`, when given, is the expected [out, in].
    public init(_ w: WeightReader, shape: [Int]? = nil, bias hasBias: Bool = true) throws {
        let weight = try w("weight", shape: shape)
        self.init(weight: weight, bias: hasBias ? try w("bias", shape: [weight.shape[0]]) : nil)
    }
}

extension LayerNorm {
    public init(_ w: WeightReader, eps: Float) throws {
        let weight = try w("weight")
        self.init(weight: weight, bias: try w("bias", shape: weight.shape), eps: eps)
    }
}

import TensorMath

/// Reads the parameters of one module out of a state dict by key prefix, checking shapes, so
/// model code names tensors as the reference's modules do (`scoped("attn").callAsFunction("qkv.weight")`).
/// Readers scoped from one another share a record of the tensors read, so that the model can
/// finally insist that it used every tensor of the file (`requireEveryTensorUsed`).
public struct WeightReader {
    public let stateDict: StateDict
    public let prefix: String
    private let usage: TensorUsage

    public init(_ stateDict: StateDict, prefix: String = "") {
        self.init(stateDict, prefix: prefix, usage: TensorUsage())
    }

    private init(_ stateDict: StateDict, prefix: String, usage: TensorUsage) {
        self.stateDict = stateDict
        self.prefix = prefix
        self.usage = usage
    }

    public func scoped(_ name: String) -> WeightReader {
        WeightReader(stateDict, prefix: prefix + name + ".", usage: usage)
    }

    /// A tensor as float32 (16-bit ones widened).
    public func callAsFunction(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        try checkShape(name, shape)
        return try stateDict.tensor(prefix + name)
    }

    /// Throws unless the tensor exists with `shape` (when given); records it as used.
    private func checkShape(_ name: String, _ shape: [Int]?) throws {
        let stored = try stateDict.stored(prefix + name)
        if let shape, stored.shape != shape {
            throw CheckpointError(path: stateDict.source, kind: .wrongShape, tensor: prefix + name,
                                  problem: "tensor '\(prefix + name)' has shape \(stored.shape), expected \(shape)")
        }
        usage.record(prefix + name)
    }

    /// A matrix [out, in] (a projection or an embedding table), kept in 16 bits when the state
    /// dict holds it so.
    public func matrix(_ name: String, shape: [Int]) throws -> MatrixWeights {
        try checkShape(name, shape)
        switch try stateDict.stored(prefix + name) {
        case .float32(let tensor): return .dense(tensor)
        case .halfPrecision(let tensor): return .halfPrecision(tensor)
        }
    }

    public func contains(_ name: String) -> Bool { stateDict.contains(prefix + name) }

    /// How many numbered children `name.0`, `name.1`, … the tensors hold (`blocks` → ViT
    /// blocks): the count of distinct indices, which must run from 0 without a gap, so that a
    /// damaged or renamed block is an error rather than a shorter model.
    public func numberedChildCount(_ name: String) throws -> Int {
        let scope = prefix + name + "."
        var indices = Set<Int>()
        for key in stateDict.keys where key.hasPrefix(scope) {
            let rest = key.dropFirst(scope.count)
            guard let dot = rest.firstIndex(of: "."), let index = Int(rest[..<dot]), index >= 0,
                  String(index) == rest[..<dot] else { continue }  // left for requireEveryTensorUsed
            indices.insert(index)
        }
        if let gap = (0 ..< indices.count).first(where: { !indices.contains($0) }) {
            throw CheckpointError(path: stateDict.source, kind: .missingTensor, tensor: scope + "\(gap)",
                                  problem: "no tensor of '\(scope)\(gap)', although '\(scope)\(indices.max()!)' exists: numbered modules must run from 0 without a gap")
        }
        return indices.count
    }

    /// Throws for the first tensor of the file (in file order) that no reader has read: a
    /// tensor the model does not have. `model` describes the model for the message.
    public func requireEveryTensorUsed(by model: String) throws {
        try usage.requireAll(stateDict.keys, source: stateDict.source, model: model)
    }
}

/// The tensors a model has read from its file. Loading insists the file holds nothing else: a
/// tensor the model does not use means the file describes another model or was damaged (a
/// renamed tensor, a block too many), and ignoring it would run a network that is not the file's.
public final class TensorUsage {
    private var names = Set<String>()

    public init() {}

    public func record(_ name: String) { names.insert(name) }

    /// Throws an unexpected-tensor error naming the first of `fileNames` never recorded.
    public func requireAll(_ fileNames: [String], source: String, model: String) throws {
        let unused = fileNames.filter { !names.contains($0) }
        guard let first = unused.first else { return }
        let others = unused.count > 1 ? " (and \(unused.count - 1) more)" : ""
        throw CheckpointError(path: source, kind: .unexpectedTensor, tensor: first,
                              problem: "unexpected tensor '\(first.oneLine())'\(others): \(model) has no such parameter")
    }
}

extension Linear {
    /// `weight` of `shape` [out, in] (and `bias` [out]) under the reader's prefix.
    public init(_ w: WeightReader, shape: [Int], bias hasBias: Bool = true) throws {
        let weight = try w("weight", shape: shape)
        self.init(weight: weight, bias: hasBias ? try w("bias", shape: [shape[0]]) : nil)
    }
}

extension LayerNorm {
    /// `weight` and `bias`, both [width], under the reader's prefix.
    public init(_ w: WeightReader, width: Int, eps: Float) throws {
        self.init(weight: try w("weight", shape: [width]), bias: try w("bias", shape: [width]), eps: eps)
    }
}

import TensorMath

/// A tensor as a state dict holds it: float32, or 16-bit floats kept as the file stores them.
public enum StoredTensor: Sendable {
    case float32(Tensor)
    case halfPrecision(HalfPrecisionTensor)

    public var shape: [Int] {
        switch self {
        case .float32(let tensor): return tensor.shape
        case .halfPrecision(let tensor): return tensor.shape
        }
    }

    /// As float32 (exact for 16-bit floats).
    public var widened: Tensor {
        switch self {
        case .float32(let tensor): return tensor
        case .halfPrecision(let tensor): return tensor.widened()
        }
    }
}

/// Named tensors loaded from a checkpoint, as contiguous float32 or, where the loader was asked
/// to keep them, as the file's 16-bit floats.
public struct StateDict: Sendable {
    /// The file the tensors came from (used in error messages).
    public let source: String
    /// Tensor names in file order.
    public let keys: [String]
    /// The float32 tensors.
    public private(set) var tensors: [String: Tensor]
    /// The tensors kept in 16 bits.
    public private(set) var halfPrecisionTensors: [String: HalfPrecisionTensor]

    /// Builds a state dict from named tensors in order; a repeated name keeps the last tensor.
    public init(source: String, entries: [(name: String, tensor: Tensor)]) {
        self.init(source: source, stored: entries.map { ($0.name, .float32($0.tensor)) })
    }

    /// Builds a state dict from named tensors in order; a repeated name keeps the last tensor.
    public init(source: String, stored entries: [(name: String, tensor: StoredTensor)]) {
        var keys: [String] = []
        var tensors: [String: Tensor] = [:], halfPrecisionTensors: [String: HalfPrecisionTensor] = [:]
        for (name, tensor) in entries {
            if tensors[name] == nil && halfPrecisionTensors[name] == nil { keys.append(name) }
            tensors[name] = nil
            halfPrecisionTensors[name] = nil
            switch tensor {
            case .float32(let value): tensors[name] = value
            case .halfPrecision(let value): halfPrecisionTensors[name] = value
            }
        }
        self.source = source
        self.keys = keys
        self.tensors = tensors
        self.halfPrecisionTensors = halfPrecisionTensors
    }

    /// The tensor as stored.
    public func stored(_ name: String) throws -> StoredTensor {
        if let tensor = tensors[name] { return .float32(tensor) }
        if let tensor = halfPrecisionTensors[name] { return .halfPrecision(tensor) }
        throw CheckpointError(path: source, kind: .missingTensor, tensor: name,
                              problem: "no tensor named '\(name.oneLine())' among its \(keys.count) tensors")
    }

    /// The tensor as float32 (16-bit ones widened).
    public func tensor(_ name: String) throws -> Tensor { try stored(name).widened }

    public func contains(_ name: String) -> Bool { tensors[name] != nil || halfPrecisionTensors[name] != nil }

    public func shape(_ name: String) -> [Int]? { tensors[name]?.shape ?? halfPrecisionTensors[name]?.shape }

    /// Total number of elements over all tensors.
    public var parameterCount: Int {
        tensors.values.reduce(0) { $0 + $1.count } + halfPrecisionTensors.values.reduce(0) { $0 + $1.count }
    }
}

/// Loads a PyTorch zip checkpoint, a safetensors file or a GGUF file (dequantised to float32;
/// LLaMA GGUFs under Hugging Face names), recognised by its content.
public func loadCheckpoint(_ path: String) throws -> StateDict {
    let file = try MappedFile(path: path)
    let bytes = file.bytes
    let zipLocalHeader: [UInt8] = [0x50, 0x4b, 0x03, 0x04]
    let zipEmptyArchive: [UInt8] = [0x50, 0x4b, 0x05, 0x06]
    if bytes.starts(with: zipLocalHeader) || bytes.starts(with: zipEmptyArchive) {
        return try loadPyTorchCheckpoint(file)
    }
    if bytes.starts(with: "GGUF".utf8) {
        return try GGUFFile(file: file).stateDict()
    }
    // safetensors: an 8-byte little-endian header length, then the JSON header itself. The
    // format caps headers at 100 MB, so a length of 4 GB or more means this is something else.
    let headerLength = bytes.count > 8 ? UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)) : 0
    if bytes.count > 8 && bytes[8] == UInt8(ascii: "{") && headerLength < 1 << 32 {
        return try loadSafetensors(file)
    }
    if bytes[0] == 0x80 {
        throw file.error("a bare pickle (legacy pre-1.6 torch.save format), which is not supported; re-save it with a current PyTorch (zip format)", kind: .unsupported)
    }
    let leading = bytes.prefix(8).map { String($0, radix: 16, uppercase: true).leftPadded(to: 2) }
    throw file.error("not a PyTorch zip checkpoint or safetensors file, nor GGUF (starts with bytes \(leading.joined(separator: " ")))")
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

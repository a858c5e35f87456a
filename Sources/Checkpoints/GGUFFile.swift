import Dispatch
import TensorMath

/// Where one tensor's data lies in a GGUF file and how it is stored.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// ggml dimensions, `ne[0]` the contiguous one (the reverse of the numpy/HF shape).
    public let ne: [Int]
    /// Byte offset from the start of the data section.
    public let offset: Int
    public let elementCount: Int
    /// Stored size in bytes; nil for a type code whose block layout is unknown.
    public let byteCount: Int?

    /// The numpy/HF shape: `ne` reversed.
    public var shape: [Int] { ne.reversed() }
}

/// A GGUF file (versions 2 and 3), memory-mapped: the header, metadata and tensor directory are
/// parsed and checked on open; tensor data is read (and dequantised) on demand.
public final class GGUFFile {
    public let path: String
    public let version: Int
    /// Every metadata key/value pair.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// `general.alignment`, 32 when absent.
    public let alignment: Int
    /// Absolute byte offset of the tensor data section.
    public let dataOffset: Int

    private let file: MappedFile
    private let tensorIndex: [String: Int]

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        self.file = file
        path = file.path
        var reader = ByteReader(file.bytes, path: file.path, context: "GGUF header")
        let magic = try reader.readBytes(4)
        guard magic.elementsEqual("GGUF".utf8) else {
            let shown = magic.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            throw file.error("not a GGUF file: starts with bytes \(shown) instead of the magic \"GGUF\"")
        }
        let rawVersion = try reader.read(UInt32.self)
        guard rawVersion == 2 || rawVersion == 3 else {
            let hint = (1 ... 3).contains(rawVersion.byteSwapped) ? " (a big-endian GGUF, which is not supported)"
                : rawVersion == 1 ? " (GGUF v1 is obsolete)" : ""
            throw file.error("unsupported GGUF version \(rawVersion)\(hint); versions 2 and 3 are supported")
        }
        version = Int(rawVersion)
        let tensorCount = try reader.read(UInt64.self)
        let keyCount = try reader.read(UInt64.self)
        // Each key/value pair takes at least 12 bytes and each tensor info at least 28.
        let remaining = UInt64(file.bytes.count - reader.position)
        guard keyCount <= remaining / 12, tensorCount <= remaining / 28 else {
            throw file.error("the GGUF header announces \(grouped(keyCount)) metadata keys and \(grouped(tensorCount)) tensors, more than the \(grouped(file.bytes.count))-byte file can hold (truncated or corrupt)",
                             kind: .tooLarge)
        }

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for index in 0 ..< Int(keyCount) {
            reader.context = "GGUF metadata key \(index + 1) of \(keyCount)"
            let key = try reader.readGGUFString()
            reader.context = "GGUF metadata '\(key.oneLine())'"
            let value = try reader.readGGUFValue()
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw file.error("metadata key '\(key.oneLine())' appears twice", tensor: key)
            }
            keys.append(key)
        }
        self.metadata = metadata
        metadataKeys = keys

        alignment = try GGUFFile.alignment(metadata["general.alignment"], file: file)
        var tensors: [GGUFTensorInfo] = []
        var tensorIndex: [String: Int] = [:]
        for index in 0 ..< Int(tensorCount) {
            reader.context = "GGUF tensor info \(index + 1) of \(tensorCount)"
            let info = try GGUFFile.readTensorInfo(&reader, alignment: alignment, file: file)
            guard tensorIndex.updateValue(index, forKey: info.name) == nil else {
                throw file.error("tensor '\(info.name.oneLine())' appears twice", tensor: info.name)
            }
            tensors.append(info)
        }
        self.tensors = tensors
        self.tensorIndex = tensorIndex

        dataOffset = reader.position + (alignment - reader.position % alignment) % alignment
        try checkLayout()
        for info in tensors {
            try checkDataRange(info)
        }
    }

    /// ggml lays the tensors' data out in directory order, each padded to the alignment, and
    /// refuses files whose offsets say otherwise (so no two tensors overlap).
    private func checkLayout() throws {
        var end = 0
        for info in tensors {
            guard info.offset == end else {
                throw file.error("tensor '\(info.name.oneLine())' has data offset \(grouped(info.offset)), but the tensors before it end at \(grouped(end)) (GGUF stores tensor data in directory order)",
                                 tensor: info.name)
            }
            // The data of a type whose block layout is unknown has an unknown end: stop checking there.
            guard let byteCount = info.byteCount else { return }
            let (sum, overflow) = end.addingReportingOverflow(byteCount)
            let padding = (alignment - sum % alignment) % alignment
            guard !overflow, sum <= Int.max - padding else {
                throw file.error("tensor '\(info.name.oneLine())' ends beyond any file", kind: .tooLarge, tensor: info.name)
            }
            end = sum + padding
        }
    }

    private static func alignment(_ value: GGUFValue?, file: MappedFile) throws -> Int {
        guard let value else { return 32 }
        guard let alignment = value.intValue, alignment > 0, alignment <= 1 << 30, alignment & (alignment - 1) == 0 else {
            throw file.error("general.alignment is \(value), not a positive power of two")
        }
        return alignment
    }

    private static func readTensorInfo(_ reader: inout ByteReader, alignment: Int, file: MappedFile) throws -> GGUFTensorInfo {
        let name = try reader.readGGUFString()
        reader.context = "GGUF tensor info '\(name.oneLine())'"
        let dimensionCount = try reader.read(UInt32.self)
        guard (1 ... 4).contains(dimensionCount) else {
            throw file.error("tensor '\(name.oneLine())' has \(dimensionCount) dimensions; ggml allows 1 to 4", tensor: name)
        }
        var ne: [Int] = []
        var elementCount = 1
        for _ in 0 ..< dimensionCount {
            let extent = try reader.read(UInt64.self)
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: Int(clamping: extent))
            guard extent <= UInt64(Int.max), !overflow else {
                throw file.error("tensor '\(name.oneLine())' has an impossible dimension \(grouped(extent))", kind: .tooLarge, tensor: name)
            }
            ne.append(Int(extent))
            elementCount = product
        }
        let type = GGMLType(rawValue: try reader.read(UInt32.self))
        let offset = try reader.read(UInt64.self)
        // Far beyond any file; the data ranges are checked against this one once all are read.
        guard offset <= UInt64(Int.max / 2) else {
            throw file.error("tensor '\(name.oneLine())' starts at data offset \(grouped(offset)), beyond any file", kind: .tooLarge, tensor: name)
        }
        guard Int(offset) % alignment == 0 else {
            throw file.error("tensor '\(name.oneLine())' has data offset \(grouped(offset)), not a multiple of the alignment \(alignment)", tensor: name)
        }
        var byteCount: Int?
        if let layout = type.blockLayout {
            guard ne[0] % layout.elements == 0 else {
                throw file.error("tensor '\(name.oneLine())' of type \(type) has \(ne[0]) elements per row, not a multiple of its block size \(layout.elements)",
                                 tensor: name)
            }
            let (bytes, overflow) = (elementCount / layout.elements).multipliedReportingOverflow(by: layout.bytes)
            guard !overflow else {
                throw file.error("tensor '\(name.oneLine())' has an impossible size: ne \(ne) of \(type)", kind: .tooLarge, tensor: name)
            }
            byteCount = bytes
        }
        return GGUFTensorInfo(name: name, type: type, ne: ne, offset: Int(offset), elementCount: elementCount, byteCount: byteCount)
    }

    private func checkDataRange(_ info: GGUFTensorInfo) throws {
        let begin = dataOffset + info.offset
        guard let byteCount = info.byteCount else {
            guard begin <= file.bytes.count else {
                throw file.error("truncated: tensor '\(info.name.oneLine())' (\(info.type)) starts at byte \(grouped(begin)) but the file has only \(grouped(file.bytes.count)) bytes",
                                 kind: .truncated, tensor: info.name)
            }
            return
        }
        guard begin <= file.bytes.count, byteCount <= file.bytes.count - begin else {
            throw file.error("truncated: tensor '\(info.name.oneLine())' (\(info.type)) needs \(grouped(byteCount)) bytes at byte \(grouped(begin)) but the file has only \(grouped(file.bytes.count)) bytes",
                             kind: byteCount > file.bytes.count ? .tooLarge : .truncated, tensor: info.name)
        }
    }

    // MARK: Metadata accessors

    /// The metadata value of `key`, throwing a one-line error naming the file when it is absent.
    public func value(_ key: String) throws -> GGUFValue {
        guard let value = metadata[key] else { throw file.error("metadata key '\(key.oneLine())' is missing", tensor: key) }
        return value
    }

    public func string(_ key: String) throws -> String {
        try typed(key, "a string") { $0.stringValue }
    }

    /// Any integer type, converted to Int.
    public func int(_ key: String) throws -> Int {
        try typed(key, "an integer that fits Int") { $0.intValue }
    }

    /// float32 (exactly widened) or float64.
    public func float(_ key: String) throws -> Double {
        try typed(key, "a float") { $0.doubleValue }
    }

    public func bool(_ key: String) throws -> Bool {
        try typed(key, "a bool") { $0.boolValue }
    }

    public func strings(_ key: String) throws -> [String] {
        try typed(key, "an array of strings") { $0.arrayValue.flatMap { elements in mapAll(elements) { $0.stringValue } } }
    }

    /// An array of any integer type, converted to Int.
    public func ints(_ key: String) throws -> [Int] {
        try typed(key, "an array of integers") { $0.arrayValue.flatMap { elements in mapAll(elements) { $0.intValue } } }
    }

    private func typed<T>(_ key: String, _ expected: String, _ convert: (GGUFValue) -> T?) throws -> T {
        let value = try value(key)
        guard let converted = convert(value) else {
            throw file.error("metadata '\(key.oneLine())' is \(value), expected \(expected)", tensor: key)
        }
        return converted
    }

    // MARK: Tensors

    public func tensorInfo(_ name: String) throws -> GGUFTensorInfo {
        guard let index = tensorIndex[name] else {
            throw file.error("no tensor named '\(name.oneLine())' among its \(tensors.count) tensors", kind: .missingTensor, tensor: name)
        }
        return tensors[index]
    }

    public func contains(_ name: String) -> Bool { tensorIndex[name] != nil }

    /// The tensor's stored bytes where they lie in the mapping, valid while this file lives.
    func mappedData(of info: GGUFTensorInfo) throws -> UnsafeRawBufferPointer {
        guard let byteCount = info.byteCount else { throw unknownLayout(info) }
        let start = dataOffset + info.offset
        return UnsafeRawBufferPointer(rebasing: file.bytes[start ..< start + byteCount])
    }

    /// A copy of the tensor's stored bytes (quantised blocks as they are in the file), for
    /// kernels that work on the quantised format directly.
    public func rawData(of name: String) throws -> [UInt8] {
        Array(try mappedData(of: tensorInfo(name)))
    }

    /// The tensor converted to float32, in the numpy/HF layout (shape = reversed `ne`).
    public func tensor(_ name: String) throws -> Tensor {
        let info = try tensorInfo(name)
        guard let decoding = GGMLDecoding(info.type), let byteCount = info.byteCount else {
            let supported = GGMLType.dequantisable.map(\.name).joined(separator: ", ")
            throw file.error("tensor '\(name.oneLine())' has ggml type \(info.type) (\(info.type.rawValue)), which cannot be dequantised (supported: \(supported))",
                             kind: .unsupported, tensor: name)
        }
        let source = UnsafeRawBufferPointer(rebasing: file.bytes[dataOffset + info.offset ..< dataOffset + info.offset + byteCount])
        // Split along rows (whole blocks) over the compute threads; the time goes mostly to
        // faulting in the fresh output pages, which threads do in parallel too.
        let rowCount = info.ne[0] == 0 ? 0 : info.elementCount / info.ne[0]
        let parts = min(computeThreads(), rowCount, max(1, info.elementCount >> 20))
        return Tensor(shape: info.shape) { destination in
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let rows = rowCount * part / parts ..< rowCount * (part + 1) / parts
                let bytesPerRow = byteCount / rowCount, elementsPerRow = info.ne[0]
                decoding.dequantise(UnsafeRawBufferPointer(rebasing: source[rows.lowerBound * bytesPerRow ..< rows.upperBound * bytesPerRow]),
                                    into: UnsafeMutableBufferPointer(rebasing: destination[rows.lowerBound * elementsPerRow ..< rows.upperBound * elementsPerRow]))
            }
        }
    }

    private func unknownLayout(_ info: GGUFTensorInfo) -> CheckpointError {
        file.error("tensor '\(info.name.oneLine())' has ggml type \(info.type), whose storage layout is unknown", kind: .unsupported, tensor: info.name)
    }
}

/// `transform` applied to every element, or nil as soon as one gives nil.
private func mapAll<T>(_ elements: [GGUFValue], _ transform: (GGUFValue) -> T?) -> [T]? {
    var result: [T] = []
    result.reserveCapacity(elements.count)
    for element in elements {
        guard let converted = transform(element) else { return nil }
        result.append(converted)
    }
    return result
}

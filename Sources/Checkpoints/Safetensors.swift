import Foundation
import TensorMath

/// Loads a safetensors file: an 8-byte little-endian header length, a JSON header mapping
/// names to dtype, shape and byte range, then the raw little-endian data. Tensors are converted
/// to float32, except bfloat16 and float16 ones when `keepingHalfPrecision`: those stay 16-bit.
public func loadSafetensors(_ path: String, keepingHalfPrecision: Bool) throws -> StateDict {
    try loadSafetensors(MappedFile(path: path), keepingHalfPrecision: keepingHalfPrecision)
}

/// Loads a safetensors file with every tensor converted to float32.
public func loadSafetensors(_ path: String) throws -> StateDict {
    try loadSafetensors(path, keepingHalfPrecision: false)
}

/// Checks the header as the reference implementation does before anything is allocated: the
/// header fits the file, every tensor's byte range matches its dtype and shape, and the ranges
/// tile the data section exactly (no gaps, no overlaps, nothing after the last).
func loadSafetensors(_ file: MappedFile, keepingHalfPrecision: Bool = false) throws -> StateDict {
    let bytes = file.bytes
    let reader = ByteReader(bytes, path: file.path, context: "safetensors header")
    let declaredLength = try reader.integer(at: 0, as: UInt64.self)
    guard declaredLength <= maximumHeaderLength, declaredLength <= UInt64(bytes.count) else {
        throw file.error("the safetensors header claims \(grouped(declaredLength)) bytes, more than the \(grouped(bytes.count))-byte file (and the format's limit of \(grouped(maximumHeaderLength)))",
                         kind: .tooLarge)
    }
    guard declaredLength <= UInt64(bytes.count - 8) else {
        throw file.error("truncated: the safetensors header claims \(grouped(declaredLength)) bytes but only \(grouped(bytes.count - 8)) follow",
                         kind: .truncated)
    }
    let headerLength = Int(declaredLength)
    let headerBytes = Data(try reader.slice(at: 8, count: headerLength))
    guard let header = (try? JSONSerialization.jsonObject(with: headerBytes)) as? [String: Any] else {
        throw file.error("the safetensors header is not a JSON object")
    }
    let dataStart = 8 + headerLength
    let data = UnsafeRawBufferPointer(rebasing: bytes[dataStart...])

    var located: [SafetensorsEntry] = []
    for (name, value) in header where name != "__metadata__" {
        located.append(try SafetensorsEntry(name, value, dataSize: data.count, file: file))
    }
    // JSON objects carry no order, so "file order" is the order of the data itself.
    located.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
    try checkTiling(located, dataSize: data.count, file: file)
    try checkAllocation(located.map { ($0.name, $0.elementCount) }, file: file)

    return StateDict(source: file.path, stored: located.map { tensor in
        let storage = UnsafeRawBufferPointer(rebasing: data[tensor.begin ..< tensor.end])
        defer { file.release(dataStart + tensor.begin ..< dataStart + tensor.end) }
        if keepingHalfPrecision, let format = tensor.type.halfPrecisionFormat {
            return (tensor.name, .halfPrecision(HalfPrecisionTensor(format: format, shape: tensor.shape, bits: littleEndianHalves(storage))))
        }
        return (tensor.name, .float32(materializeTensor(tensor.type, storage: storage, layout: .contiguous(tensor.shape))))
    })
}

/// The 16-bit values of `storage`, which holds them little-endian.
private func littleEndianHalves(_ storage: UnsafeRawBufferPointer) -> [UInt16] {
    let count = storage.count / 2
    return [UInt16](unsafeUninitializedCapacity: count) { values, initialized in
        for i in 0 ..< count { values[i] = UInt16(littleEndian: storage.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        initialized = count
    }
}

/// The reference implementation refuses larger headers.
private let maximumHeaderLength: UInt64 = 100_000_000

/// One validated header entry: where its data lies within the data section and how it is stored.
private struct SafetensorsEntry {
    let name: String
    let type: ElementType
    let shape: [Int]
    let elementCount: Int
    let begin: Int, end: Int

    init(_ name: String, _ value: Any, dataSize: Int, file: MappedFile) throws {
        let shown = name.oneLine()
        guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
              let shape = integers(info["shape"]), let offsets = integers(info["data_offsets"]), offsets.count == 2 else {
            throw file.error("safetensors entry '\(shown)' lacks a string dtype, an integer shape or two data_offsets", tensor: name)
        }
        guard let type = ElementType(safetensorsName: dtype) else {
            throw file.error("tensor '\(shown)' has unsupported dtype \(dtype.oneLine())", kind: .unsupported, tensor: name)
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw file.error("tensor '\(shown)' has a negative dimension in its shape \(shape)", tensor: name)
        }
        let begin = offsets[0], end = offsets[1]
        guard let count = StridedLayout.contiguous(shape).elementCount,
              case let (expectedBytes, overflow) = count.multipliedReportingOverflow(by: type.byteCount), !overflow else {
            throw file.error("tensor '\(shown)' has an impossible shape \(shape): its element count overflows", kind: .tooLarge, tensor: name)
        }
        guard begin >= 0, begin <= end else {
            throw file.error("tensor '\(shown)' has invalid data_offsets [\(begin), \(end)]", tensor: name)
        }
        guard end - begin == expectedBytes else {
            throw file.error("tensor '\(shown)' spans \(grouped(end - begin)) bytes but \(dtype) \(shape) needs \(grouped(count)) × \(type.byteCount)",
                             tensor: name)
        }
        guard end <= file.bytes.count else {
            throw file.error("tensor '\(shown)' has data_offsets [\(grouped(begin)), \(grouped(end))], beyond the end of the \(grouped(file.bytes.count))-byte file",
                             kind: .tooLarge, tensor: name)
        }
        guard end <= dataSize else {
            throw file.error("truncated: tensor '\(shown)' ends at byte \(grouped(end)) of the data section but only \(grouped(dataSize)) bytes follow the header",
                             kind: .truncated, tensor: name)
        }
        self.name = name
        self.type = type
        self.shape = shape
        elementCount = count
        self.begin = begin
        self.end = end
    }
}

/// Entries sorted by offset must follow each other without gap or overlap and end with the data.
private func checkTiling(_ entries: [SafetensorsEntry], dataSize: Int, file: MappedFile) throws {
    var position = 0
    var previous: SafetensorsEntry?
    for entry in entries {
        if entry.begin < position, let previous {
            throw file.error("tensor '\(entry.name.oneLine())' (bytes \(grouped(entry.begin)) to \(grouped(entry.end))) overlaps tensor '\(previous.name.oneLine())' (bytes \(grouped(previous.begin)) to \(grouped(previous.end)))",
                             tensor: entry.name)
        }
        guard entry.begin == position else {
            throw file.error("bytes \(grouped(position)) to \(grouped(entry.begin)) of the data section belong to no tensor (before tensor '\(entry.name.oneLine())')",
                             tensor: entry.name)
        }
        position = entry.end
        previous = entry
    }
    guard position == dataSize else {
        throw file.error("the data section holds \(grouped(dataSize - position)) bytes after the last tensor's data")
    }
}

private func integers(_ value: Any?) -> [Int]? {
    guard let items = value as? [Any] else { return nil }
    var result: [Int] = []
    for item in items {
        guard let number = item as? Int else { return nil }
        result.append(number)
    }
    return result
}

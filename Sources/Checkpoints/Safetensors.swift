import Foundation
import TensorMath

/// Loads a safetensors file: an 8-byte little-endian header length, a JSON header mapping
/// names to dtype, shape and byte range, then the raw little-endian data.
public func loadSafetensors(_ path: String) throws -> StateDict {
    try loadSafetensors(MappedFile(path: path))
}

func loadSafetensors(_ file: MappedFile) throws -> StateDict {
    let bytes = file.bytes
    let reader = ByteReader(bytes, path: file.path, context: "safetensors header")
    let declaredLength = try reader.integer(at: 0, as: UInt64.self)
    guard declaredLength <= UInt64(bytes.count - 8) else {
        throw file.error("truncated: the safetensors header claims \(grouped(declaredLength)) bytes but only \(grouped(bytes.count - 8)) follow")
    }
    let headerLength = Int(declaredLength)
    let headerBytes = Data(try reader.slice(at: 8, count: headerLength))
    guard let header = (try? JSONSerialization.jsonObject(with: headerBytes)) as? [String: Any] else {
        throw file.error("the safetensors header is not a JSON object")
    }
    let dataStart = 8 + headerLength
    let data = UnsafeRawBufferPointer(rebasing: bytes[dataStart...])

    var located: [(name: String, begin: Int, type: ElementType, shape: [Int])] = []
    for (name, value) in header where name != "__metadata__" {
        let info = try describe(name, value, dataSize: data.count, file: file)
        located.append((name, info.begin, info.type, info.shape))
    }
    // JSON objects carry no order, so "file order" is the order of the data itself.
    located.sort { ($0.begin, $0.name) < ($1.begin, $1.name) }

    var entries: [(name: String, tensor: Tensor)] = []
    for tensor in located {
        let layout = StridedLayout.contiguous(tensor.shape)
        try checkAllocation(count: layout.elementCount ?? 0, name: tensor.name, file: file)
        let storage = UnsafeRawBufferPointer(rebasing: data[tensor.begin...])
        entries.append((tensor.name, materializeTensor(tensor.type, storage: storage, layout: layout)))
    }
    return StateDict(source: file.path, entries: entries)
}

/// Validates one header entry and returns where its data starts within the data section.
private func describe(_ name: String, _ value: Any, dataSize: Int,
                      file: MappedFile) throws -> (begin: Int, type: ElementType, shape: [Int]) {
    guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
          let shape = integers(info["shape"]), let offsets = integers(info["data_offsets"]), offsets.count == 2 else {
        throw file.error("safetensors entry '\(name)' lacks a string dtype, an integer shape or two data_offsets")
    }
    guard let type = ElementType(safetensorsName: dtype) else {
        throw file.error("tensor '\(name)' has unsupported dtype \(dtype)")
    }
    let begin = offsets[0], end = offsets[1]
    guard let count = StridedLayout.contiguous(shape).elementCount, begin >= 0, begin <= end else {
        throw file.error("tensor '\(name)' has an invalid shape \(shape) or data_offsets [\(begin), \(end)]")
    }
    let (expectedBytes, overflow) = count.multipliedReportingOverflow(by: type.byteCount)
    guard !overflow, end - begin == expectedBytes else {
        throw file.error("tensor '\(name)' spans \(grouped(end - begin)) bytes but \(dtype) \(shape) needs \(grouped(count)) × \(type.byteCount)")
    }
    guard end <= dataSize else {
        throw file.error("truncated: tensor '\(name)' ends at byte \(grouped(end)) of the data section but only \(grouped(dataSize)) bytes follow the header")
    }
    return (begin, type, shape)
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

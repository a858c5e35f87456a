import Foundation
import TensorMath

/// Storage types the safetensors writer can produce.
public enum SafetensorsDType: String, Sendable {
    case float32 = "F32"
    /// bfloat16, rounded to nearest even (halves the file; the loader widens it back).
    case bfloat16 = "BF16"

    var byteCount: Int { self == .float32 ? 4 : 2 }
}

/// Writes tensors as a safetensors file (8-byte header length, JSON header, raw little-endian data),
/// atomically: to a temporary sibling first, renamed when complete.
public func writeSafetensors(_ tensors: [(name: String, tensor: Tensor)], dtype: SafetensorsDType, to path: String) throws {
    var header: [String: Any] = ["__metadata__": ["format": "pt"]]
    var offset = 0
    for (name, tensor) in tensors {
        let size = tensor.count * dtype.byteCount
        header[name] = ["dtype": dtype.rawValue, "shape": tensor.shape, "data_offsets": [offset, offset + size]]
        offset += size
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
    while (json.count + 8) % 8 != 0 { json.append(0x20) }

    let temporary = (path as NSString).deletingLastPathComponent + "/." + (path as NSString).lastPathComponent + ".partial-\(getpid())"
    guard FileManager.default.createFile(atPath: temporary, contents: nil),
          let handle = FileHandle(forWritingAtPath: temporary) else {
        throw CheckpointError(path: path, problem: "cannot create the file")
    }
    do {
        var length = UInt64(json.count).littleEndian
        try handle.write(contentsOf: Data(bytes: &length, count: 8))
        try handle.write(contentsOf: json)
        for (_, tensor) in tensors {
            let bytes: Data
            switch dtype {
            case .float32:
                bytes = tensor.data.withUnsafeBufferPointer { Data(buffer: $0) }
            case .bfloat16:
                let halves = tensor.data.map { value -> UInt16 in
                    let bits = value.bitPattern
                    guard !value.isNaN else { return UInt16(bits >> 16) | 0x40 }
                    return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
                }
                bytes = halves.withUnsafeBufferPointer { Data(buffer: $0) }
            }
            try handle.write(contentsOf: bytes)
        }
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else { throw CheckpointError(path: path, problem: "cannot rename the finished file into place") }
    } catch {
        try? handle.close()
        unlink(temporary)
        throw error is CheckpointError ? error : CheckpointError(path: path, problem: "write failed: \(error)")
    }
}

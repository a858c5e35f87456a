import TensorMath

/// The stored number formats a checkpoint can hold; each is converted to Float on load (bfloat16
/// and float16 may instead be kept in 16 bits).
enum ElementType: Sendable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    var byteCount: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// The format a tensor of this type keeps when held in 16 bits; nil for other types.
    var halfPrecisionFormat: HalfPrecisionTensor.Format? {
        switch self {
        case .bfloat16: return .bfloat16
        case .float16: return .float16
        default: return nil
        }
    }

    /// PyTorch's legacy typed-storage class names, as they appear in pickled persistent ids.
    init?(torchStorageName name: String) {
        switch name {
        case "FloatStorage": self = .float32
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "DoubleStorage": self = .float64
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }

    /// The dtype names of the safetensors header.
    init?(safetensorsName name: String) {
        switch name {
        case "F32": self = .float32
        case "F16": self = .float16
        case "BF16": self = .bfloat16
        case "F64": self = .float64
        case "I64": self = .int64
        case "I32": self = .int32
        case "I16": self = .int16
        case "I8": self = .int8
        case "U8": self = .uint8
        case "BOOL": self = .bool
        default: return nil
        }
    }
}

/// Converts `count` elements of `type`, found `stride` elements apart starting at element
/// `start` of `source`, into consecutive Floats at `destination`.
func convertElements(_ type: ElementType, from source: UnsafeRawPointer, start: Int, stride: Int,
                     count: Int, into destination: UnsafeMutablePointer<Float>) {
    let size = type.byteCount
    if type == .float32 && stride == 1 {
        UnsafeMutableRawPointer(destination).copyMemory(from: source + start * size, byteCount: count * size)
        return
    }
    let base = source + start * size
    let step = stride * size
    @inline(__always) func convert<Stored>(_: Stored.Type, _ transform: (Stored) -> Float) {
        for index in 0 ..< count {
            destination[index] = transform(base.loadUnaligned(fromByteOffset: index * step, as: Stored.self))
        }
    }
    switch type {
    case .float32: convert(Float.self) { $0 }
    case .float16: convert(UInt16.self) { Float(Float16(bitPattern: UInt16(littleEndian: $0))) }  // exact
    case .bfloat16: convert(UInt16.self) { Float(bitPattern: UInt32(UInt16(littleEndian: $0)) << 16) }
    case .float64: convert(Double.self) { Float($0) }
    case .int64: convert(Int64.self) { Float(Int64(littleEndian: $0)) }
    case .int32: convert(Int32.self) { Float(Int32(littleEndian: $0)) }
    case .int16: convert(Int16.self) { Float(Int16(littleEndian: $0)) }
    case .int8: convert(Int8.self) { Float($0) }
    case .uint8: convert(UInt8.self) { Float($0) }
    case .bool: convert(UInt8.self) { $0 == 0 ? 0 : 1 }
    }
}

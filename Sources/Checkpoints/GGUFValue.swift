/// One GGUF metadata value. Arrays hold their elements as values of one scalar type.
public enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    case float32(Float), float64(Double)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])

    /// The GGUF type name, e.g. "uint32" or "array of string", for messages.
    public var typeName: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float32: return "float32"
        case .float64: return "float64"
        case .bool: return "bool"
        case .string: return "string"
        case .array(let elements): return "array of \(elements.first?.typeName ?? "nothing")"
        }
    }

    /// The type and value for messages, e.g. `uint32 64`, `string "gpt2"`, `array of 3 string`.
    public var description: String {
        switch self {
        case .uint8(let value): return "uint8 \(value)"
        case .int8(let value): return "int8 \(value)"
        case .uint16(let value): return "uint16 \(value)"
        case .int16(let value): return "int16 \(value)"
        case .uint32(let value): return "uint32 \(value)"
        case .int32(let value): return "int32 \(value)"
        case .uint64(let value): return "uint64 \(value)"
        case .int64(let value): return "int64 \(value)"
        case .float32(let value): return "float32 \(value)"
        case .float64(let value): return "float64 \(value)"
        case .bool(let value): return "bool \(value)"
        case .string(let value): return "string \"\(value.oneLine(limit: 40))\""
        case .array(let elements):
            return "array of \(grouped(elements.count)) \(elements.first?.typeName ?? "elements")"
        }
    }

    /// The value of any integer type, or nil for other types and for uint64 values beyond Int.
    public var intValue: Int? {
        switch self {
        case .uint8(let value): return Int(value)
        case .int8(let value): return Int(value)
        case .uint16(let value): return Int(value)
        case .int16(let value): return Int(value)
        case .uint32(let value): return Int(value)
        case .int32(let value): return Int(value)
        case .uint64(let value): return Int(exactly: value)
        case .int64(let value): return Int(value)
        default: return nil
        }
    }

    /// The value of a float32 or float64 (float32 widens exactly).
    public var doubleValue: Double? {
        switch self {
        case .float32(let value): return Double(value)
        case .float64(let value): return value
        default: return nil
        }
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var arrayValue: [GGUFValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}

extension String {
    /// The string as it may appear in a one-line message: control characters escaped and at
    /// most `limit` characters (names read from a corrupt file can hold anything).
    func oneLine(limit: Int = 80) -> String {
        var result = ""
        for scalar in unicodeScalars.prefix(limit) {
            result += scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return unicodeScalars.count > limit ? result + "…" : result
    }
}

/// The GGUF value type codes of the specification.
enum GGUFValueType: UInt32 {
    case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64

    /// Bytes an element takes at least, to reject absurd array counts before allocating.
    var minimumByteCount: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64, .string: return 8  // a string is at least its length
        case .array: return 12  // element type and count
        }
    }
}

extension ByteReader {
    /// Every element becomes a GGUFValue of about 24 bytes, so the file's size alone would let a
    /// metadata array of single bytes take 24 times the file in memory.
    static let maximumGGUFArrayCount = 1 << 24

    /// A GGUF string: a uint64 byte count, then that many UTF-8 bytes (no terminator).
    mutating func readGGUFString() throws -> String {
        let length = try read(UInt64.self)
        guard length <= UInt64(bytes.count - position) else {
            throw error("a string of \(grouped(length)) bytes at offset \(grouped(position - 8)) runs past the end of the \(grouped(bytes.count))-byte file (truncated?)",
                        kind: length > UInt64(bytes.count) ? .tooLarge : .truncated)
        }
        return String(decoding: try readBytes(Int(length)), as: UTF8.self)
    }

    mutating func readGGUFValue() throws -> GGUFValue {
        try readGGUFValue(of: try readGGUFValueType())
    }

    private mutating func readGGUFValueType() throws -> GGUFValueType {
        let code = try read(UInt32.self)
        guard let type = GGUFValueType(rawValue: code) else {
            throw error("unknown value type \(code) at offset \(grouped(position - 4))")
        }
        return type
    }

    private mutating func readGGUFValue(of type: GGUFValueType) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self))
        case .int8: return .int8(try read(Int8.self))
        case .uint16: return .uint16(try read(UInt16.self))
        case .int16: return .int16(try read(Int16.self))
        case .uint32: return .uint32(try read(UInt32.self))
        case .int32: return .int32(try read(Int32.self))
        case .uint64: return .uint64(try read(UInt64.self))
        case .int64: return .int64(try read(Int64.self))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self)))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self)))
        case .bool:
            let byte = try read(UInt8.self)
            guard byte <= 1 else { throw error("bool byte \(byte) at offset \(grouped(position - 1)) is neither 0 nor 1") }
            return .bool(byte == 1)
        case .string: return .string(try readGGUFString())
        case .array:
            let elementType = try readGGUFValueType()
            guard elementType != .array else {
                throw error("nested arrays (at offset \(grouped(position - 4))) are not supported")
            }
            let count = try read(UInt64.self)
            guard count <= UInt64((bytes.count - position) / elementType.minimumByteCount) else {
                throw error("an array of \(grouped(count)) elements at offset \(grouped(position - 8)) cannot fit in the \(grouped(bytes.count))-byte file (truncated?)",
                            kind: count > UInt64(bytes.count) ? .tooLarge : .truncated)
            }
            guard count <= UInt64(Self.maximumGGUFArrayCount) else {
                throw error("an array of \(grouped(count)) elements at offset \(grouped(position - 8)) is longer than the "
                            + "\(grouped(Self.maximumGGUFArrayCount)) vlsam reads (vocabularies and merge lists have a few hundred thousand)",
                            kind: .tooLarge)
            }
            var elements: [GGUFValue] = []
            elements.reserveCapacity(Int(count))
            for _ in 0 ..< count {
                elements.append(try readGGUFValue(of: elementType))
            }
            return .array(elements)
        }
    }
}

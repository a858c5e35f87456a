/// How one of the dequantisable ggml types turns into float32.
enum GGMLDecoding {
    case plain(ElementType)
    case q8_0, q4_0, q4_1

    init?(_ type: GGMLType) {
        switch type {
        case .f32: self = .plain(.float32)
        case .f16: self = .plain(.float16)
        case .bf16: self = .plain(.bfloat16)
        case .f64: self = .plain(.float64)
        case .i8: self = .plain(.int8)
        case .i16: self = .plain(.int16)
        case .i32: self = .plain(.int32)
        case .i64: self = .plain(.int64)
        case .q8_0: self = .q8_0
        case .q4_0: self = .q4_0
        case .q4_1: self = .q4_1
        default: return nil
        }
    }

    /// Converts stored data into float32, element for element in storage order. `source` holds
    /// exactly the tensor's bytes and `destination` its element count (the caller checks both
    /// against `ne`, which for the block types is a multiple of 32).
    func dequantise(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableBufferPointer<Float>) {
        guard let input = source.baseAddress, let output = destination.baseAddress else { return }
        let count = destination.count
        switch self {
        case .plain(let elementType):
            convertElements(elementType, from: input, start: 0, stride: 1, count: count, into: output)
        case .q8_0: dequantiseQ8_0(input, blockCount: count / 32, into: output)
        case .q4_0: dequantiseQ4_0(input, blockCount: count / 32, into: output)
        case .q4_1: dequantiseQ4_1(input, blockCount: count / 32, into: output)
        }
    }
}

@inline(__always)
private func halfScale(_ block: UnsafeRawPointer, at offset: Int) -> Float {
    floatFromHalfBits(UInt16(littleEndian: block.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// Q8_0: 34-byte blocks of a float16 scale `d` and 32 int8 quants; x = q·d.
private func dequantiseQ8_0(_ input: UnsafeRawPointer, blockCount: Int, into output: UnsafeMutablePointer<Float>) {
    for block in 0 ..< blockCount {
        let base = input + block * 34
        let scale = halfScale(base, at: 0)
        let quants = (base + 2).assumingMemoryBound(to: Int8.self)
        let values = output + block * 32
        for index in 0 ..< 32 {
            values[index] = Float(quants[index]) * scale
        }
    }
}

/// Q4_0: 18-byte blocks of a float16 scale `d` and 16 bytes of 4-bit quants; byte j holds
/// element j in its low nibble and element j + 16 in its high nibble; x = (q − 8)·d.
private func dequantiseQ4_0(_ input: UnsafeRawPointer, blockCount: Int, into output: UnsafeMutablePointer<Float>) {
    for block in 0 ..< blockCount {
        let base = input + block * 18
        let scale = halfScale(base, at: 0)
        let packed = (base + 2).assumingMemoryBound(to: UInt8.self)
        let values = output + block * 32
        for index in 0 ..< 16 {
            let byte = packed[index]
            values[index] = Float(Int32(byte & 0x0F) - 8) * scale
            values[index + 16] = Float(Int32(byte >> 4) - 8) * scale
        }
    }
}

/// Q4_1: 20-byte blocks of float16 `d` and `m` and 16 bytes of 4-bit quants (nibbles as in
/// Q4_0); x = q·d + m, rounded after the multiply and again after the add as ggml does (Swift
/// never contracts the two into a fused multiply-add, which could differ in the last bit).
private func dequantiseQ4_1(_ input: UnsafeRawPointer, blockCount: Int, into output: UnsafeMutablePointer<Float>) {
    for block in 0 ..< blockCount {
        let base = input + block * 20
        let scale = halfScale(base, at: 0)
        let minimum = halfScale(base, at: 2)
        let packed = (base + 4).assumingMemoryBound(to: UInt8.self)
        let values = output + block * 32
        for index in 0 ..< 16 {
            let byte = packed[index]
            values[index] = Float(byte & 0x0F) * scale + minimum
            values[index + 16] = Float(byte >> 4) * scale + minimum
        }
    }
}

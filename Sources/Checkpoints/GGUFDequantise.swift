import TensorMath

/// How one of the dequantisable ggml types turns into float32.
enum GGMLDecoding {
    case plain(ElementType)
    /// ggml's 32-element blocks, dequantised by the same code as the quantised matrices.
    case blocks(QuantizedMatrix.Format)

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
        case .q8_0: self = .blocks(.q8_0)
        case .q4_0: self = .blocks(.q4_0)
        case .q4_1: self = .blocks(.q4_1)
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
        case .blocks(let format): format.dequantize(source, into: output)
        }
    }
}

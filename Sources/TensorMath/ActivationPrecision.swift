/// How a single token's vector meets quantised weights in a matrix–vector product.
public enum ActivationPrecision: Sendable {
    /// Float32, as sgemm on the dequantised rows computes it: the reference result.
    case float32
    /// Quantised to 8 bits per block and multiplied in integers (`BlockQuantizedVector`), as
    /// llama.cpp does: several times faster, within about a percent of the float32 product.
    case blockInt8
}

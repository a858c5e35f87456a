/// A float32 vector quantised to 8 bits per 32-element block for integer dot products with
/// `QuantizedMatrix` blocks — llama.cpp's Q8_0 activation scheme: per block, d = max|x|/127 and
/// q = round(x/d) in −127…127. Unlike ggml, d stays float32 (ggml rounds it to float16), and the
/// block's d·Σq is kept: Q4_1's m multiplies it (the `s` of ggml's Q8_1, which Q4_1 pairs
/// with), and Q4_0's −8.
public struct BlockQuantizedVector {
    public let count: Int
    /// Per element, its code.
    public let codes: [Int8]
    /// Per block, d.
    public let scales: [Float]
    /// Per block, d·Σq (what Q4_1's m and Q4_0's −8 multiply).
    public let scaledSums: [Float]

    /// Quantises `count` floats (a multiple of 32) from `x`.
    public init(_ x: UnsafePointer<Float>, count: Int) {
        precondition(count % QuantizedMatrix.blockLength == 0, "BlockQuantizedVector: \(count) is not a multiple of 32")
        let blocks = count / QuantizedMatrix.blockLength
        var scales = [Float](repeating: 0, count: blocks), codeSums = [Int32](repeating: 0, count: blocks)
        codes = [Int8](unsafeUninitializedCapacity: count) { codes, initialized in
            for block in 0..<blocks {
                let values = x + QuantizedMatrix.blockLength * block, out = codes.baseAddress! + QuantizedMatrix.blockLength * block
                var largest: Float = 0
                for j in 0..<QuantizedMatrix.blockLength { largest = max(largest, abs(values[j])) }
                let inverse: Float = largest > 0 ? 127 / largest : 0
                var sum: Int32 = 0
                for j in 0..<QuantizedMatrix.blockLength {
                    let code = Int32((values[j] * inverse).rounded(.toNearestOrEven))
                    out[j] = Int8(truncatingIfNeeded: code)
                    sum += code
                }
                scales[block] = largest / 127
                codeSums[block] = sum
            }
            initialized = count
        }
        self.count = count
        self.scales = scales
        scaledSums = (0..<blocks).map { scales[$0] * Float(codeSums[$0]) }
    }

    /// Calls `body(codes, scales, scaledSums)` with the vector's storage.
    func withBlocks<R>(_ body: (UnsafePointer<Int8>, UnsafePointer<Float>, UnsafePointer<Float>) -> R) -> R {
        codes.withUnsafeBufferPointer { codes in
            scales.withUnsafeBufferPointer { scales in
                scaledSums.withUnsafeBufferPointer { body(codes.baseAddress!, scales.baseAddress!, $0.baseAddress!) }
            }
        }
    }
}

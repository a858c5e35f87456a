import Checkpoints
import Foundation
import TensorMath
import TestSupport
import VLMModels
import XCTest

/// The decoder's kernels against plain loops, and the decoder itself: token-by-token decoding
/// (growing its cache) against one pass over the sequence, and on quantised against float32 weights.
final class DecoderKernelTests: XCTestCase {
    /// Deterministic values in [-1, 1] (SplitMix64, from TestSupport).
    struct Values {
        var generator: SeededGenerator
        init(state: UInt64) { generator = SeededGenerator(seed: state) }
        mutating func next() -> UInt64 { generator.next() }
        /// float16 bit patterns of either sign with biased exponents in `exponents`.
        mutating func halves(_ count: Int, exponents: ClosedRange<UInt64>) -> [UInt16] {
            (0..<count).map { _ in
                let exponent = exponents.lowerBound + next() % UInt64(exponents.count)
                return UInt16(next() & 1) << 15 | UInt16(exponent) << 10 | UInt16(next() & 0x3FF)
            }
        }
        mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
            (0..<count).map { _ in scale * (Float(next() >> 40) / Float(1 << 23) - 1) }
        }
    }

    /// Attention written out: every query head against its key/value head, causal over positions.
    func naiveAttention(q: [Float], keys: [Float], values: [Float], tokens: Int, past: Int,
                        heads: Int, kvHeads: Int, headDim: Int) -> [Float] {
        let width = heads * headDim, kvWidth = kvHeads * headDim
        var out = [Float](repeating: 0, count: tokens * width)
        for t in 0..<tokens {
            for h in 0..<heads {
                let kv = h / (heads / kvHeads), visible = past + t + 1
                var logits = (0..<visible).map { p -> Double in
                    var dot = 0.0
                    for i in 0..<headDim { dot += Double(q[t * width + h * headDim + i]) * Double(keys[p * kvWidth + kv * headDim + i]) }
                    return dot / Double(headDim).squareRoot()
                }
                let largest = logits.max()!
                logits = logits.map { exp($0 - largest) }
                let total = logits.reduce(0, +)
                for i in 0..<headDim {
                    var sum = 0.0
                    for p in 0..<visible { sum += logits[p] / total * Double(values[p * kvWidth + kv * headDim + i]) }
                    out[t * width + h * headDim + i] = Float(sum)
                }
            }
        }
        return out
    }

    func testGroupedQueryAttentionMatchesLoops() {
        var random = Values(state: 1)
        let heads = 6, kvHeads = 2
        // 70 tokens of 64-wide heads take the register-blocked kernel; the others the BLAS path.
        for (headDim, tokens, past) in [(8, 1, 0), (8, 1, 9), (8, 5, 3), (8, 40, 0), (64, 70, 5)] {
            let width = heads * headDim, kvWidth = kvHeads * headDim
            let total = past + tokens
            // Queries sit inside wider rows (as in the decoder's q|k|v projection), so the stride is tested too.
            let stride = width + 5
            let rows = random.floats(tokens * stride), keys = random.floats(total * kvWidth), values = random.floats(total * kvWidth)
            let q = (0..<tokens).flatMap { rows[$0 * stride ..< $0 * stride + width] }
            let result = rows.withUnsafeBufferPointer { r in
                keys.withUnsafeBufferPointer { k in
                    values.withUnsafeBufferPointer { v in
                        causalGroupedQueryAttention(queries: r.baseAddress!, queryStride: stride, tokens: tokens, heads: heads,
                                                    keys: k.baseAddress!, values: v.baseAddress!, kvStride: kvWidth,
                                                    kvHeads: kvHeads, headDim: headDim, past: past)
                    }
                }
            }
            let expected = naiveAttention(q: q, keys: keys, values: values, tokens: tokens, past: past,
                                          heads: heads, kvHeads: kvHeads, headDim: headDim)
            assertClose(result, Tensor(shape: [tokens, width], data: expected), .relative(1e-5),
                        "\(tokens) tokens after \(past), head width \(headDim)")
        }
    }

    /// RoPE against its closed form (the "rotate half" convention of transformers' LLaMA):
    /// x[i]·cos − x[i+d/2]·sin and x[i+d/2]·cos + x[i]·sin, angle position · θ^(−2i/d).
    func testRotaryEmbeddingOfAKnownVector() {
        let invFreq = ropeInverseFrequencies(headDim: 4, theta: 10000)
        assertClose(invFreq, [1.0, 0.01], .relative(1e-7), "inverse frequencies")
        // Two tokens at positions 3 and 4, two heads each: (1, 2, 3, 4) and (-1, 0.5, 0, 2).
        let head0: [Double] = [1, 2, 3, 4], head1: [Double] = [-1, 0.5, 0, 2]
        var rows = (head0 + head1 + head0 + head1).map(Float.init)
        let angles = RotaryAngles(invFreq: invFreq, firstPosition: 3, tokens: 2)
        rows.withUnsafeMutableBufferPointer { applyRoPE($0.baseAddress!, rowStride: 8, heads: 2, angles: angles) }
        func rotated(_ x: [Double], position: Double) -> [Double] {
            let a = [position * 1, position * 0.01]
            return [x[0] * cos(a[0]) - x[2] * sin(a[0]), x[1] * cos(a[1]) - x[3] * sin(a[1]),
                    x[2] * cos(a[0]) + x[0] * sin(a[0]), x[3] * cos(a[1]) + x[1] * sin(a[1])]
        }
        let expected = rotated(head0, position: 3) + rotated(head1, position: 3)
            + rotated(head0, position: 4) + rotated(head1, position: 4)
        // Position 3 turns the first pair by 3 rad: (1, 3) → (cos 3 − 3 sin 3, 3 cos 3 + sin 3) ≈ (−1.4133, −2.8289).
        XCTAssertEqual(expected[0], -1.4133, accuracy: 1e-4)
        XCTAssertEqual(expected[2], -2.8289, accuracy: 1e-4)
        assertClose(rows, expected, .absolute(1e-6), "RoPE at positions 3 and 4")
    }

    func testSiluGatedProduct() {
        var random = Values(state: 2)
        let rows = 3, width = 21
        let input = Tensor(shape: [rows, 2 * width], data: random.floats(rows * 2 * width, scale: 8))
        let result = siluGatedProduct(input)
        XCTAssertEqual(result.shape, [rows, width])
        for r in 0..<rows {
            for i in 0..<width {
                let g = Double(input.data[r * 2 * width + i]), u = Double(input.data[r * 2 * width + width + i])
                XCTAssertEqual(Double(result.data[r * width + i]), g / (1 + exp(-g)) * u, accuracy: 1e-5 * max(1, abs(g * u)))
            }
        }
    }

    static let config = LlamaConfig(hiddenSize: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, intermediateSize: 96,
                                    rmsNormEps: 1e-5, ropeTheta: 10000, vocabSize: 40, tiedEmbeddings: true)

    /// Random decoder parameters; matrices quantised (random Q4_1-like blocks) when `quantized`,
    /// else the same blocks dequantised to float32.
    struct RandomWeights: LlamaWeights {
        let quantized: Bool
        var source: String { "random weights" }

        func matrix(_ name: String, shape: [Int]) throws -> MatrixWeights {
            var random = Values(state: UInt64(name.utf8.reduce(7) { $0 &* 31 &+ Int($1) }.magnitude))
            let blocks = shape[0] * shape[1] / 32
            let codes = (0..<blocks * 16).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let scales = random.halves(blocks, exponents: 6...9), minimums = random.halves(blocks, exponents: 8...11)
            // ggml's Q4_1 block: float16 d and m, then 16 bytes of nibbles.
            var bytes: [UInt8] = []
            for block in 0..<blocks {
                for half in [scales[block], minimums[block]] { bytes += [UInt8(half & 0xFF), UInt8(half >> 8)] }
                bytes += codes[16 * block ..< 16 * (block + 1)]
            }
            let matrix = QuantizedMatrix(format: .q4_1, rows: shape[0], columns: shape[1], copying: bytes)
            return quantized ? .quantized(matrix) : .dense(matrix.dequantized())
        }

        func vector(_ name: String, shape: [Int]) throws -> Tensor {
            var random = Values(state: 3)
            return Tensor(shape: shape, data: random.floats(shape.reduce(1, *)).map { 1 + 0.1 * $0 })
        }
    }

    func testIncrementalDecodingMatchesOnePassAndQuantisedMatchesFloat() throws {
        let dense = try LlamaDecoder(RandomWeights(quantized: false), lmHead: nil, config: Self.config)
        let quantized = try LlamaDecoder(RandomWeights(quantized: true), lmHead: nil, config: Self.config)
        let ids = [3, 17, 5, 39, 0, 22, 8, 8, 11]
        let onePass = dense.forward(dense.embed(ids), cache: dense.makeCache())

        // Token by token from a cache reserved for 2 positions, so it grows twice on the way.
        for decoder in [dense, quantized] {
            let cache = decoder.makeCache(reserve: 2)
            var rows: [Float] = []
            for id in ids { rows += decoder.forward(decoder.embed([id]), cache: cache).data }
            XCTAssertEqual(cache.length, ids.count)
            XCTAssertGreaterThanOrEqual(cache.capacity, ids.count)
            let stepwise = Tensor(shape: onePass.shape, data: rows)
            assertClose(stepwise, onePass, .relative(1e-5), "token by token against one pass")
            assertClose(decoder.logits(stepwise[ids.count - 1]), dense.logits(onePass[ids.count - 1]), .relative(1e-5),
                        "last logits")
        }
        // A prefill of several tokens on quantised weights (dequantised a chunk at a time).
        let quantizedPass = quantized.forward(quantized.embed(ids), cache: quantized.makeCache())
        assertClose(quantizedPass, onePass, .relative(1e-5), "quantised prefill")
        XCTAssertEqual(quantized.greedy(promptIDs: ids, maxNewTokens: 6, stopTokens: []).tokens,
                       dense.greedy(promptIDs: ids, maxNewTokens: 6, stopTokens: []).tokens)
    }
}

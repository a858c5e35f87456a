import Foundation
import TensorMath
import XCTest

final class AttentionTests: XCTestCase {
    /// softmax(scale·q_h·k_hᵀ + bias)·v_h per head, in double precision.
    func naiveAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Double,
                        bias: (Int, Int, Int) -> Double = { _, _, _ in 0 }) -> [Double] {
        let nq = q.shape[0], nk = k.shape[0], qWidth = q.shape[1], vWidth = v.shape[1]
        let dk = qWidth / heads, dv = vWidth / heads
        var out = [Double](repeating: 0, count: nq * vWidth)
        var logits = [Double](repeating: 0, count: nk)
        for h in 0..<heads {
            for i in 0..<nq {
                for j in 0..<nk {
                    var dot = 0.0
                    for d in 0..<dk { dot += Double(q.data[i * qWidth + h * dk + d]) * Double(k.data[j * qWidth + h * dk + d]) }
                    logits[j] = scale * dot + bias(h, i, j)
                }
                let top = logits.max()!
                let weights = logits.map { Foundation.exp($0 - top) }
                let sum = weights.reduce(0, +)
                for j in 0..<nk {
                    for d in 0..<dv { out[i * vWidth + h * dv + d] += weights[j] / sum * Double(v.data[j * vWidth + h * dv + d]) }
                }
            }
        }
        return out
    }

    func testQueryBlocksAndKeyChunksWithPartialLastOnesMatchNaiveAttention() {
        // Queries in several blocks and keys in several chunks (a running softmax), the last of each partial.
        let nk = 2 * attentionKeyChunk + 37
        let nq = 2 * attentionQueryBlock + 21
        let heads = 2
        let q = randomTensor([nq, heads * 8], in: -2...2, seed: 1)
        let k = randomTensor([nk, heads * 8], in: -2...2, seed: 2)
        let v = randomTensor([nk, heads * 4], seed: 3)
        let result = multiHeadAttention(q: q, k: k, v: v, heads: heads)
        XCTAssertEqual(result.shape, [nq, heads * 4])
        let expected = naiveAttention(q: q, k: k, v: v, heads: heads, scale: 1 / 8.0.squareRoot())
        XCTAssertLessThanOrEqual(maxAbsoluteDifference(result, expected), 1e-5)
    }

    func testPanelKernelPathMatchesNaiveAttention() {
        // Head widths that are multiples of 64 and enough queries take the register-blocked
        // kernel: a partial query block, a partial key chunk with a partial tile of 64 keys,
        // values two tiles wide, a scale and a logit bias.
        let heads = 2, dk = 64, dv = 128, nq = attentionQueryBlock + 7, nk = attentionKeyChunk + 70
        let q = randomTensor([nq, heads * dk], in: -1...1, seed: 7)
        let k = randomTensor([nk, heads * dk], in: -1...1, seed: 8)
        let v = randomTensor([nk, heads * dv], seed: 9)
        let bias: (Int, Int, Int) -> Double = { h, i, j in Double((h * 5 + i + j * 3) % 7) * 0.2 }
        let result = multiHeadAttention(q: q, k: k, v: v, heads: heads, scale: 0.2) { head, rowStart, rows, keyStart, keys, scores, ld in
            for r in 0..<rows {
                for j in 0..<keys { scores[r * ld + j] += Float(bias(head, rowStart + r, keyStart + j)) }
            }
        }
        XCTAssertEqual(result.shape, [nq, heads * dv])
        let expected = naiveAttention(q: q, k: k, v: v, heads: heads, scale: 0.2, bias: bias)
        XCTAssertLessThanOrEqual(maxAbsoluteDifference(result, expected), 1e-5)
    }

    func testPackedQKVMatchesSeparateInputs() {
        let heads = 3, width = heads * 8
        let packed = randomTensor([150, 3 * width], seed: 6)
        let part = { (i: Int) -> Tensor in
            var data: [Float] = []
            for r in 0..<150 {
                let start = r * 3 * width + i * width
                data += packed.data[start ..< start + width]
            }
            return Tensor(shape: [150, width], data: data)
        }
        let expected = multiHeadAttention(q: part(0), k: part(1), v: part(2), heads: heads)
        XCTAssertEqual(multiHeadAttention(packedQKV: packed, heads: heads), expected)
    }

    func testDecoderShapedAttentionWithScaleAndLogitBias() {
        // Few tokens against many in several key chunks (and the reverse), widths that leave vector tails.
        let heads = 8
        let tokens = randomTensor([11, heads * 16], in: -1...1, seed: 4)
        let image = randomTensor([2 * attentionKeyChunk + 76, heads * 16], in: -1...1, seed: 5)
        let bias: (Int, Int, Int) -> Double = { h, i, j in Double((h * 7 + i * 3 + j) % 5) * 0.25 }
        for (q, k) in [(tokens, image), (image, tokens)] {
            let result = multiHeadAttention(q: q, k: k, v: k, heads: heads, scale: 0.3) { head, rowStart, rows, keyStart, keys, scores, ld in
                for r in 0..<rows {
                    for j in 0..<keys { scores[r * ld + j] += Float(bias(head, rowStart + r, keyStart + j)) }
                }
            }
            let expected = naiveAttention(q: q, k: k, v: k, heads: heads, scale: 0.3, bias: bias)
            XCTAssertLessThanOrEqual(maxAbsoluteDifference(result, expected), 1e-5, "q \(q.shape) k \(k.shape)")
        }
    }
}

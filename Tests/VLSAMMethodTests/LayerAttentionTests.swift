import TensorMath
import XCTest

/// `LayerAttention.probabilities` against softmax written out by hand on a tiny causal case.
final class LayerAttentionTests: XCTestCase {
    func testProbabilityRowsOfAGroupedQueryLayer() {
        // T = 3, 2 query heads sharing 1 KV head, d = 2 (scale 1/sqrt(2)).
        let keys: [Float] = [1, 0, 0, 1, 1, 1]
        let queries: [Float] = [0, 0, 1, 0,   // token 0: head 0, head 1
                                2, 0, 0, 2,   // token 1
                                0, 2, 1, -1]  // token 2
        let layer = LayerAttention(layer: 0, tokens: 3, heads: 2, kvHeads: 1, headDim: 2, queries: queries, keys: keys)
        var rows = [Float](repeating: .nan, count: 3 * 3)
        rows.withUnsafeMutableBufferPointer { layer.probabilities(head: 1, rows: 0..<3, into: $0.baseAddress!) }
        let s = 1 / Float(2).squareRoot()
        func softmax(_ logits: [Float]) -> [Float] {
            let e = logits.map { exp($0 - logits.max()!) }
            return e.map { $0 / e.reduce(0, +) }
        }
        // head 1: q0 = (1, 0), q1 = (0, 2), q2 = (1, -1); k = (1,0), (0,1), (1,1)
        let expected = [1, 0, 0] + softmax([0, 2 * s]) + [0] + softmax([1 * s, -1 * s, 0])
        for (index, (got, want)) in zip(rows, expected).enumerated() {
            XCTAssertEqual(got, want, accuracy: 1e-6, "element \(index)")
        }
        // Rows can start anywhere: row 2 alone equals the third row above.
        var single = [Float](repeating: .nan, count: 3)
        single.withUnsafeMutableBufferPointer { layer.probabilities(head: 1, rows: 2..<3, into: $0.baseAddress!) }
        XCTAssertEqual(single, Array(rows[6..<9]))
    }
}

import TensorMath

/// One layer's head-weighted attention (§3): Abar = (1/H) Σ_h w[h] · A[h], a T × T lower
/// triangular float32 matrix, with the head weights (§2) that weighted it.
///
/// Each head's probabilities are computed once, into a T × T scratch matrix that yields both the
/// head's row maxima (its weight) and its share of the sum; no more than one head is held.
public struct AggregatedAttention: Sendable {
    public let layer: Int
    public let tokens: Int
    /// [T, T] row-major; entries above the diagonal are 0.
    public var values: [Float]
    public let headWeights: HeadWeights

    public init(_ attention: LayerAttention) {
        let t = attention.tokens, heads = attention.heads
        var sum = [Float](repeating: 0, count: t * t)
        var rowMaxima = [Float](repeating: 0, count: heads * t)
        var probabilities = [Float](repeating: 0, count: t * t)
        probabilities.withUnsafeMutableBufferPointer { p in
            let a = p.baseAddress!
            for h in 0..<heads {
                attention.probabilities(head: h, rows: 0..<t, into: a)
                rowMaxima.withUnsafeMutableBufferPointer { attention.rowMaxima(of: a, rows: 0..<t, into: $0.baseAddress! + h * t) }
                let scale = HeadWeights.weight(rowMaxima: rowMaxima[h * t ..< (h + 1) * t]) / Float(heads)
                sum.withUnsafeMutableBufferPointer { s in
                    for i in 0..<t {
                        let row = i * t
                        for j in 0...i { s[row + j] += scale * a[row + j] }
                    }
                }
            }
        }
        layer = attention.layer
        tokens = t
        values = sum
        headWeights = HeadWeights(rowMaxima: rowMaxima, heads: heads, tokens: t)
    }

    /// rowsum(Abar) per row; every row sums to mean_h w[h] in exact arithmetic.
    public var rowSums: [Float] {
        values.withUnsafeBufferPointer { v in
            (0..<tokens).map { i in Float((0...i).reduce(0.0) { $0 + Double(v[i * tokens + $1]) }) }
        }
    }
}

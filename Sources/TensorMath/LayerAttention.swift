/// One causal decoder layer's post-RoPE queries and keys over a whole sequence, from which any
/// head's attention probability rows can be recomputed on demand. The forward pass hands one of
/// these per layer to an observer, so nobody ever holds T × T × heads × layers probabilities.
///
/// Query head h reads key/value head h / (heads / kvHeads) (grouped-query attention).
public struct LayerAttention: Sendable {
    public let layer: Int
    /// T: the sequence length; rows and columns of every probability matrix.
    public let tokens: Int
    public let heads: Int
    public let kvHeads: Int
    public let headDim: Int
    /// [T, heads · headDim], row-major.
    public let queries: [Float]
    /// [T, kvHeads · headDim], row-major.
    public let keys: [Float]

    public init(layer: Int, tokens: Int, heads: Int, kvHeads: Int, headDim: Int, queries: [Float], keys: [Float]) {
        precondition(heads > 0 && kvHeads > 0 && heads % kvHeads == 0, "LayerAttention: \(heads) heads over \(kvHeads) KV heads")
        precondition(queries.count == tokens * heads * headDim && keys.count == tokens * kvHeads * headDim,
                     "LayerAttention: queries/keys do not have T = \(tokens) rows")
        self.layer = layer
        self.tokens = tokens
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.queries = queries
        self.keys = keys
    }

    public func kvHead(of head: Int) -> Int { head / (heads / kvHeads) }

    /// Writes softmax_j(q_i · k_j / sqrt(d)) for i in `rows` of `head` into `output`
    /// ([rows.count, T], row stride T); entries j > i are exactly 0.
    public func probabilities(head: Int, rows: Range<Int>, into output: UnsafeMutablePointer<Float>) {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= tokens && head >= 0 && head < heads)
        let count = rows.count, t = tokens
        guard count > 0 else { return }
        // Only columns 0 ... rows.upperBound - 1 can be non-zero for these rows.
        let width = rows.upperBound
        queries.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                gemm(transB: true, m: count, n: width, k: headDim, alpha: 1 / Float(headDim).squareRoot(),
                     a: q.baseAddress! + rows.lowerBound * heads * headDim + head * headDim, lda: heads * headDim,
                     b: k.baseAddress! + kvHead(of: head) * headDim, ldb: kvHeads * headDim,
                     c: output, ldc: t)
            }
        }
        for r in 0..<count {
            let i = rows.lowerBound + r
            (output + r * t + i + 1).update(repeating: -.infinity, count: width - i - 1)
        }
        softmaxRows(output, rows: count, cols: width, stride: t)
        if width < t {
            for r in 0..<count { (output + r * t + width).update(repeating: 0, count: t - width) }
        }
    }
}

extension LayerAttention {
    /// The largest probability of each row written by `probabilities(head:rows:into:)` for `rows`
    /// (row stride T), into `maxima[0..<rows.count]`. Only the causal part 0...i of row i is read.
    public func rowMaxima(of probabilities: UnsafePointer<Float>, rows: Range<Int>,
                          into maxima: UnsafeMutablePointer<Float>) {
        for (r, i) in rows.enumerated() { maxima[r] = simdMax(probabilities + r * tokens, i + 1) }
    }
}

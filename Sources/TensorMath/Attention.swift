/// Adds position-dependent terms to one block of attention logits before the softmax:
/// `scores` holds `rows` query rows (starting at query `rowStart`) × all keys, rows `ld` apart.
/// Called concurrently for different blocks.
public typealias AttentionLogitBias = (_ head: Int, _ rowStart: Int, _ rows: Int,
                                       _ scores: UnsafeMutablePointer<Float>, _ ld: Int) -> Void

/// Attention logits held per worker thread, in floats: queries are processed in blocks of
/// `attentionScoreBudget / keys` rows (all of them when that is more), so the logits of a
/// 4096-token global attention are never materialised for all queries or heads at once.
public let attentionScoreBudget = 128 * 4096

/// Multi-head scaled dot-product attention on token-major matrices.
///
/// `q` is [Nq, heads·dk], `k` is [Nk, heads·dk], `v` is [Nk, heads·dv]; head h uses the
/// column block h. The result is [Nq, heads·dv], heads concatenated as PyTorch does before
/// the output projection.
public func multiHeadAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int,
                               scale: Float? = nil, logitBias: AttentionLogitBias? = nil) -> Tensor {
    let nq = q.shape[0], nk = k.shape[0]
    let qWidth = q.shape[1], vWidth = v.shape[1]
    precondition(k.shape[1] == qWidth && v.shape[0] == nk, "attention: q \(q.shape) k \(k.shape) v \(v.shape)")
    let dk = qWidth / heads, dv = vWidth / heads
    let alpha = scale ?? 1 / Float(dk).squareRoot()
    let blockRows = max(1, min(nq, attentionScoreBudget / max(nk, 1)))
    let blocksPerHead = (nq + blockRows - 1) / blockRows
    let items = heads * blocksPerHead
    // Per worker: the logits of one block, then the reciprocal row sums of its softmax.
    let scratchSize = blockRows * (nk + 1)
    let scratchCount = min(items, computeThreads()) * scratchSize
    var scratch = [Float](unsafeUninitializedCapacity: scratchCount) { _, count in count = scratchCount }
    return Tensor(shape: [nq, vWidth]) { out in
        q.data.withUnsafeBufferPointer { pq in
        k.data.withUnsafeBufferPointer { pk in
        v.data.withUnsafeBufferPointer { pv in
        scratch.withUnsafeMutableBufferPointer { buffer in
            // Each (head, query block) runs start to finish on one thread: the products stay
            // single-threaded, and no thread waits for another between them.
            parallelFor(items) { worker, item in
                let head = item / blocksPerHead, start = (item % blocksPerHead) * blockRows
                let rows = min(blockRows, nq - start)
                let scores = buffer.baseAddress! + worker * scratchSize
                let inverseSums = scores + blockRows * nk
                singleThreadedGEMM(transB: true, m: rows, n: nk, k: dk, alpha: alpha,
                                   a: pq.baseAddress! + start * qWidth + head * dk, lda: qWidth,
                                   b: pk.baseAddress! + head * dk, ldb: qWidth,
                                   c: scores, ldc: nk)
                logitBias?(head, start, rows, scores, nk)
                exponentiateRows(scores, rows: rows, cols: nk, stride: nk, inverseSums: inverseSums)
                // Normalising the dv-wide product instead of the nk-wide probabilities saves a pass.
                let result = out.baseAddress! + start * vWidth + head * dv
                singleThreadedGEMM(m: rows, n: dv, k: nk,
                                   a: scores, lda: nk, b: pv.baseAddress! + head * dv, ldb: vWidth,
                                   c: result, ldc: vWidth)
                for r in 0..<rows {
                    scaleInPlace(result + r * vWidth, count: dv, by: inverseSums[r])
                }
            }
        }}}}
    }
}

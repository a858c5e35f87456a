/// Adds position-dependent terms to one block of attention logits before the softmax:
/// `scores` holds `rows` query rows (starting at query `rowStart`) × all keys, rows `ld` apart.
/// Called concurrently for different blocks.
public typealias AttentionLogitBias = (_ head: Int, _ rowStart: Int, _ rows: Int,
                                       _ scores: UnsafeMutablePointer<Float>, _ ld: Int) -> Void

/// Attention logits held per worker thread, in floats: queries are processed in blocks of
/// `attentionScoreBudget / keys` rows (all of them when that is more), so the logits of a
/// 4096-token global attention are never materialised for all queries or heads at once.
/// 256 rows of 4096 keys measured fastest: smaller blocks repack the keys more often.
public let attentionScoreBudget = 256 * 4096

/// Multi-head scaled dot-product attention on token-major matrices.
///
/// `q` is [Nq, heads·dk], `k` is [Nk, heads·dk], `v` is [Nk, heads·dv]; head h uses the
/// column block h. The result is [Nq, heads·dv], heads concatenated as PyTorch does before
/// the output projection. `scale` defaults to 1/√dk.
public func multiHeadAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int,
                               scale: Float? = nil, logitBias: AttentionLogitBias? = nil) -> Tensor {
    precondition(k.shape[1] == q.shape[1] && v.shape[0] == k.shape[0], "attention: q \(q.shape) k \(k.shape) v \(v.shape)")
    return q.data.withUnsafeBufferPointer { pq in
        k.data.withUnsafeBufferPointer { pk in
            v.data.withUnsafeBufferPointer { pv in
                attention(q: MatrixView(pq.baseAddress!, rows: q.shape[0], columns: q.shape[1], stride: q.shape[1]),
                          k: MatrixView(pk.baseAddress!, rows: k.shape[0], columns: k.shape[1], stride: k.shape[1]),
                          v: MatrixView(pv.baseAddress!, rows: v.shape[0], columns: v.shape[1], stride: v.shape[1]),
                          heads: heads, scale: scale, logitBias: logitBias)
            }
        }
    }
}

/// Multi-head self-attention on the output of a fused q|k|v projection, [N, 3·heads·d]
/// (queries, keys and values side by side, as ViT's `qkv` Linear produces them), read in place.
public func multiHeadAttention(packedQKV qkv: Tensor, heads: Int,
                               scale: Float? = nil, logitBias: AttentionLogitBias? = nil) -> Tensor {
    let n = qkv.shape[0], width = qkv.shape[1] / 3
    precondition(qkv.rank == 2 && qkv.shape[1] == 3 * width, "attention: packed q|k|v \(qkv.shape)")
    return qkv.data.withUnsafeBufferPointer { p in
        let view = { (part: Int) in MatrixView(p.baseAddress! + part * width, rows: n, columns: width, stride: 3 * width) }
        return attention(q: view(0), k: view(1), v: view(2), heads: heads, scale: scale, logitBias: logitBias)
    }
}

/// Rows of a row-major matrix that may be a column slice of a wider one.
struct MatrixView {
    let base: UnsafePointer<Float>
    let rows: Int, columns: Int, stride: Int

    init(_ base: UnsafePointer<Float>, rows: Int, columns: Int, stride: Int) {
        self.base = base
        self.rows = rows
        self.columns = columns
        self.stride = stride
    }
}

private func attention(q: MatrixView, k: MatrixView, v: MatrixView, heads: Int,
                       scale: Float?, logitBias: AttentionLogitBias?) -> Tensor {
    let nq = q.rows, nk = k.rows, vWidth = v.columns
    let dk = q.columns / heads, dv = vWidth / heads
    let alpha = scale ?? 1 / Float(dk).squareRoot()
    let blockRows = max(1, min(nq, attentionScoreBudget / max(nk, 1)))
    let blocksPerHead = (nq + blockRows - 1) / blockRows
    let items = heads * blocksPerHead
    // Per worker: the logits of one block, then the reciprocal row sums of its softmax.
    let scratchSize = blockRows * (nk + 1)
    let scratchCount = min(items, computeThreads()) * scratchSize
    var scratch = [Float](unsafeUninitializedCapacity: scratchCount) { _, count in count = scratchCount }
    return Tensor(shape: [nq, vWidth]) { out in
        scratch.withUnsafeMutableBufferPointer { buffer in
            // Each (head, query block) runs start to finish on one thread: the products stay
            // single-threaded, and no thread waits for another between them.
            parallelFor(items) { worker, item in
                let head = item / blocksPerHead, start = (item % blocksPerHead) * blockRows
                let rows = min(blockRows, nq - start)
                let scores = buffer.baseAddress! + worker * scratchSize
                let inverseSums = scores + blockRows * nk
                singleThreadedGEMM(transB: true, m: rows, n: nk, k: dk, alpha: alpha,
                                   a: q.base + start * q.stride + head * dk, lda: q.stride,
                                   b: k.base + head * dk, ldb: k.stride,
                                   c: scores, ldc: nk)
                logitBias?(head, start, rows, scores, nk)
                exponentiateRows(scores, rows: rows, cols: nk, stride: nk, inverseSums: inverseSums)
                // Normalising the dv-wide product instead of the nk-wide probabilities saves a pass.
                let result = out.baseAddress! + start * vWidth + head * dv
                singleThreadedGEMM(m: rows, n: dv, k: nk,
                                   a: scores, lda: nk, b: v.base + head * dv, ldb: v.stride,
                                   c: result, ldc: vWidth)
                for r in 0..<rows {
                    scaleInPlace(result + r * vWidth, count: dv, by: inverseSums[r])
                }
            }
        }
    }
}

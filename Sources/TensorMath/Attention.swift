import Foundation

/// Adds position-dependent terms to one block of attention logits before the softmax:
/// `scores` holds `rows` query rows (starting at query `rowStart`) × all keys, rows `ld` apart.
public typealias AttentionLogitBias = (_ head: Int, _ rowStart: Int, _ rows: Int,
                                       _ scores: UnsafeMutablePointer<Float>, _ ld: Int) -> Void

/// Queries processed per block. 256 queries × 4096 keys is 4 MB of logits: the scores of
/// a 4096-token global attention are never materialised for all queries or heads at once.
public let attentionQueryChunk = 256

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
    let chunk = min(attentionQueryChunk, nq)
    var scores = [Float](repeating: 0, count: chunk * nk)
    return Tensor(shape: [nq, vWidth]) { out in
        q.data.withUnsafeBufferPointer { pq in
        k.data.withUnsafeBufferPointer { pk in
        v.data.withUnsafeBufferPointer { pv in
        scores.withUnsafeMutableBufferPointer { ps in
            let s = ps.baseAddress!
            for h in 0..<heads {
                for start in stride(from: 0, to: nq, by: chunk) {
                    let rows = min(chunk, nq - start)
                    gemm(transB: true, m: rows, n: nk, k: dk, alpha: alpha,
                         a: pq.baseAddress! + start * qWidth + h * dk, lda: qWidth,
                         b: pk.baseAddress! + h * dk, ldb: qWidth,
                         c: s, ldc: nk)
                    logitBias?(h, start, rows, s, nk)
                    softmaxRowsParallel(s, rows: rows, cols: nk)
                    gemm(m: rows, n: dv, k: nk,
                         a: s, lda: nk, b: pv.baseAddress! + h * dv, ldb: vWidth,
                         c: out.baseAddress! + start * vWidth + h * dv, ldc: vWidth)
                }
            }
        }}}}
    }
}

/// Softmax of large blocks split across the cores (OpenBLAS is idle meanwhile).
func softmaxRowsParallel(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
    let workers = rows * cols >= 1 << 16 ? ProcessInfo.processInfo.activeProcessorCount : 1
    if workers <= 1 {
        softmaxRows(p, rows: rows, cols: cols, stride: cols)
        return
    }
    let perWorker = (rows + workers - 1) / workers
    let base = UnsafeSendablePointer(p)
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let first = w * perWorker
        let count = min(perWorker, rows - first)
        if count > 0 { softmaxRows(base.pointer + first * cols, rows: count, cols: cols, stride: cols) }
    }
}

/// Lets a raw pointer cross into `concurrentPerform` workers that write disjoint ranges.
public struct UnsafeSendablePointer: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}

import CBLAS

/// C = alpha·op(A)·op(B) + beta·C on row-major storage, through OpenBLAS sgemm.
/// `lda`, `ldb`, `ldc` are row strides, so column slices (one attention head inside a
/// [tokens, heads·dim] matrix) are addressed without copying.
///
/// Large products are split into row (or column) blocks of C, one per compute thread, each an
/// OpenBLAS call on its own thread (Parallel.swift says why OpenBLAS's own pool is not used).
public func gemm(transA: Bool = false, transB: Bool = false,
                 m: Int, n: Int, k: Int, alpha: Float = 1,
                 a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int,
                 beta: Float = 0,
                 c: UnsafeMutablePointer<Float>, ldc: Int) {
    // Below ~4 MFLOP (tens of microseconds) waking a thread costs more than it saves.
    let parts = min(computeThreads(), max(1, (2 * m * n * k) >> 22))
    guard parts > 1 else {
        singleThreadedGEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                           a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let splitRows = m >= n
    let extent = splitRows ? m : n
    // Block edges on multiples of 16 keep OpenBLAS's micro-kernels on their full-width path.
    let edge = { (part: Int) in part == parts ? extent : extent * part / parts / 16 * 16 }
    parallelFor(parts) { _, part in
        let start = edge(part), count = edge(part + 1) - start
        guard count > 0 else { return }
        if splitRows {
            singleThreadedGEMM(transA: transA, transB: transB, m: count, n: n, k: k, alpha: alpha,
                               a: a + (transA ? start : start * lda), lda: lda,
                               b: b, ldb: ldb, beta: beta, c: c + start * ldc, ldc: ldc)
        } else {
            singleThreadedGEMM(transA: transA, transB: transB, m: m, n: count, k: k, alpha: alpha,
                               a: a, lda: lda,
                               b: b + (transB ? start * ldb : start), ldb: ldb,
                               beta: beta, c: c + start, ldc: ldc)
        }
    }
}

/// One OpenBLAS call on the calling thread. Safe to call from several threads at once.
@inline(__always)
func singleThreadedGEMM(transA: Bool = false, transB: Bool = false,
                        m: Int, n: Int, k: Int, alpha: Float = 1,
                        a: UnsafePointer<Float>, lda: Int,
                        b: UnsafePointer<Float>, ldb: Int,
                        beta: Float = 0,
                        c: UnsafeMutablePointer<Float>, ldc: Int) {
    _ = openBLASIsSingleThreaded
    cblas_sgemm(CblasRowMajor,
                transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha,
                a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// OpenBLAS runs every call on its caller's thread; set once, before the first call.
private let openBLASIsSingleThreaded: Void = openblas_set_num_threads(1)

/// Matrix product of two rank-2 tensors, optionally transposing either.
public func matmul(_ a: Tensor, _ b: Tensor, transA: Bool = false, transB: Bool = false) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2, "matmul needs rank-2 tensors")
    let m = transA ? a.shape[1] : a.shape[0]
    let k = transA ? a.shape[0] : a.shape[1]
    let kb = transB ? b.shape[1] : b.shape[0]
    let n = transB ? b.shape[0] : b.shape[1]
    precondition(k == kb, "matmul inner dimensions \(a.shape) x \(b.shape)")
    return Tensor(shape: [m, n]) { out in
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                gemm(transA: transA, transB: transB, m: m, n: n, k: k,
                     a: pa.baseAddress!, lda: a.shape[1],
                     b: pb.baseAddress!, ldb: b.shape[1],
                     c: out.baseAddress!, ldc: n)
            }
        }
    }
}

/// Threads the kernels (matrix products included) may use; the CLIs set it from `--threads`.
public func setBLASThreads(_ count: Int) {
    setComputeThreads(count)
}

public func blasThreads() -> Int {
    computeThreads()
}

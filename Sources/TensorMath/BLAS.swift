import CBLAS

/// C = alpha·op(A)·op(B) + beta·C on row-major storage, through OpenBLAS sgemm.
/// `lda`, `ldb`, `ldc` are row strides, so column slices (one attention head inside a
/// [tokens, heads·dim] matrix) are addressed without copying.
@inline(__always)
public func gemm(transA: Bool = false, transB: Bool = false,
                 m: Int, n: Int, k: Int, alpha: Float = 1,
                 a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int,
                 beta: Float = 0,
                 c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor,
                transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha,
                a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

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

/// Threads OpenBLAS may use; benchmarks and the CLIs set it from `--threads`.
public func setBLASThreads(_ count: Int) {
    openblas_set_num_threads(Int32(count))
}

public func blasThreads() -> Int {
    Int(openblas_get_num_threads())
}

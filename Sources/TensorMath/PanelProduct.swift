#if VLSAM_AVX512
/// Whether `panelProduct` beats OpenBLAS here: its 24 accumulators fit AVX-512's 32 vector
/// registers, and would spill to memory on narrower targets (Package.swift sets the condition).
let panelKernelIsFast = true
#else
let panelKernelIsFast = false
#endif

/// Columns of C that `panelProduct` computes: four vectors of one output row.
let panelWidth = 4 * lanes
/// Rows of C held in registers at once: 6 rows × 4 vectors = 24 accumulators, which with B's
/// row and one broadcast fill AVX-512's 32 vector registers without spilling.
private let panelRows = 6
/// Rows of B streamed per pass over C's rows: 128 rows × 64 floats = 32 KB stays in L1.
private let panelDepthBlock = 128

/// C[rows × 64] = scale · A[rows × depth] · B[depth × 64], plus C's old values when
/// `accumulate`; the rows of A, B and C are `lda`, `ldb`, `ldc` apart.
///
/// This is attention's product kernel. Its products are thin (the head dimension, 64, is
/// the inner size of q·kᵀ and the outer size of p·v), and OpenBLAS copies both operands into
/// its packed layouts on every call, which costs as much as a fifth of the arithmetic here.
/// This kernel packs nothing: it broadcasts A's entries straight from their rows and streams
/// B's rows, so a caller packs B once (per attention call) and reuses it for every query block.
func panelProduct(rows: Int, depth: Int, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int, scale: Float = 1, accumulate: Bool,
                  c: UnsafeMutablePointer<Float>, ldc: Int) {
    let fullRows = rows / panelRows * panelRows
    for depthStart in stride(from: 0, to: depth, by: panelDepthBlock) {
        let block = min(panelDepthBlock, depth - depthStart)
        let adding = accumulate || depthStart > 0
        for first in stride(from: 0, to: fullRows, by: panelRows) {
            sixRowPanel(depth: block, a: a + first * lda + depthStart, lda: lda, b: b + depthStart * ldb, ldb: ldb,
                        scale: scale, accumulate: adding, c: c + first * ldc, ldc: ldc)
        }
    }
    let leftover = rows - fullRows
    guard leftover > 0 else { return }
    // The last few rows go through zero-padded copies, so the kernel always has six.
    withUnsafeTemporaryAllocation(of: Float.self, capacity: panelRows * (depth + panelWidth)) { buffer in
        let aCopy = buffer.baseAddress!, cCopy = aCopy + panelRows * depth
        aCopy.initialize(repeating: 0, count: panelRows * depth)
        for r in 0..<leftover {
            (aCopy + r * depth).update(from: a + (fullRows + r) * lda, count: depth)
            if accumulate { (cCopy + r * panelWidth).update(from: c + (fullRows + r) * ldc, count: panelWidth) }
        }
        panelProduct(rows: panelRows, depth: depth, a: aCopy, lda: depth, b: b, ldb: ldb, scale: scale,
                     accumulate: accumulate, c: cCopy, ldc: panelWidth)
        for r in 0..<leftover {
            (c + (fullRows + r) * ldc).update(from: cCopy + r * panelWidth, count: panelWidth)
        }
    }
}

/// Six full rows of C: each step broadcasts one entry of each A row against one B row.
@inline(__always)
private func sixRowPanel(depth: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                         scale: Float, accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let a0 = a, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda
    var c0 = PanelRow(), c1 = PanelRow(), c2 = PanelRow(), c3 = PanelRow(), c4 = PanelRow(), c5 = PanelRow()
    for p in 0..<depth {
        let bRow = PanelRow(loading: b + p * ldb)
        c0.add(a0[p], times: bRow)
        c1.add(a1[p], times: bRow)
        c2.add(a2[p], times: bRow)
        c3.add(a3[p], times: bRow)
        c4.add(a4[p], times: bRow)
        c5.add(a5[p], times: bRow)
    }
    c0.store(to: c, scale: scale, accumulate: accumulate)
    c1.store(to: c + ldc, scale: scale, accumulate: accumulate)
    c2.store(to: c + 2 * ldc, scale: scale, accumulate: accumulate)
    c3.store(to: c + 3 * ldc, scale: scale, accumulate: accumulate)
    c4.store(to: c + 4 * ldc, scale: scale, accumulate: accumulate)
    c5.store(to: c + 5 * ldc, scale: scale, accumulate: accumulate)
}

/// `panelWidth` consecutive floats of one row, in four vector registers.
private struct PanelRow {
    var v0 = FloatVector(), v1 = FloatVector(), v2 = FloatVector(), v3 = FloatVector()

    @inline(__always) init() {}

    @inline(__always) init(loading p: UnsafePointer<Float>) {
        v0 = loadVector(p, count: lanes)
        v1 = loadVector(p + lanes, count: lanes)
        v2 = loadVector(p + 2 * lanes, count: lanes)
        v3 = loadVector(p + 3 * lanes, count: lanes)
    }

    /// self += x · row, as fused multiply-adds.
    @inline(__always) mutating func add(_ x: Float, times row: PanelRow) {
        let broadcast = FloatVector(repeating: x)
        v0 = v0.addingProduct(broadcast, row.v0)
        v1 = v1.addingProduct(broadcast, row.v1)
        v2 = v2.addingProduct(broadcast, row.v2)
        v3 = v3.addingProduct(broadcast, row.v3)
    }

    /// Writes scale · self to p, added to what p holds when `accumulate`.
    @inline(__always) func store(to p: UnsafeMutablePointer<Float>, scale: Float, accumulate: Bool) {
        var sum = self
        if accumulate {
            let old = PanelRow(loading: p)
            sum.v0 = old.v0.addingProduct(v0, FloatVector(repeating: scale))
            sum.v1 = old.v1.addingProduct(v1, FloatVector(repeating: scale))
            sum.v2 = old.v2.addingProduct(v2, FloatVector(repeating: scale))
            sum.v3 = old.v3.addingProduct(v3, FloatVector(repeating: scale))
        } else if scale != 1 {
            sum.v0 *= scale
            sum.v1 *= scale
            sum.v2 *= scale
            sum.v3 *= scale
        }
        storeVector(sum.v0, to: p, count: lanes)
        storeVector(sum.v1, to: p + lanes, count: lanes)
        storeVector(sum.v2, to: p + 2 * lanes, count: lanes)
        storeVector(sum.v3, to: p + 3 * lanes, count: lanes)
    }
}

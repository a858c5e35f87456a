import Foundation

// Vectorised elementwise kernels. Swift does not auto-vectorise calls to libm, and the
// encoder evaluates hundreds of millions of exponentials (softmax) and error functions (GELU),
// so these use SIMD polynomial approximations accurate to a few ulp. Only operations that
// lower to vector instructions are used (arithmetic, comparisons, `replacing`): the generic
// `clamped`, `pointwiseMax` and `rounded` fall back to per-lane code.

// Sixteen lanes: one AVX-512 register (two AVX2 ones, four SSE ones on a baseline build). On
// SSE they also leave the out-of-order core enough independent work to hide the latency of the
// polynomial chains: softmax was 25% faster than with eight, which were no faster than four.
typealias FloatVector = SIMD16<Float>
typealias IntVector = SIMD16<Int32>
let lanes = FloatVector.scalarCount

@inline(__always)
func clamp(_ x: FloatVector, _ low: Float, _ high: Float) -> FloatVector {
    let lowered = x.replacing(with: low, where: x .< low)
    return lowered.replacing(with: high, where: lowered .> high)
}

/// exp(x) for every x: +∞ saturates at exp(88.3) ≈ 2.1e38, and x < −87.3 gives 0 (so −∞ masks).
@inline(__always)
func simdExp(_ x: FloatVector) -> FloatVector {
    expInRange(clamp(x, -87.3, 88.3)).replacing(with: 0, where: x .< -87.3)
}

/// exp(x) for x ≤ 0, the shifted logits of a softmax: only underflow needs guarding, and
/// x < −87.3 gives exp(−87.3) ≈ 1.2e-38 instead of 0, which no sum of exponentials notices.
@inline(__always)
func simdExpOfNonPositive(_ x: FloatVector) -> FloatVector {
    expInRange(x.replacing(with: -87.3, where: x .< -87.3))
}

/// exp(x) for x in [−87.3, 88.3], where 2^n is a normal float: exp(x) = 2^n · exp(r) with
/// n = round(x / ln2), |r| ≤ ln2/2, and a degree-5 minimax polynomial for exp(r)
/// (relative error 1.1e-7 before rounding).
@inline(__always)
func expInRange(_ x: FloatVector) -> FloatVector {
    // Adding 1.5·2^23 rounds to an integer in the low mantissa bits, which avoids the
    // (unvectorised) float→int conversion and gives 2^n by integer arithmetic.
    let magic: Float = 12582912
    let shifted = x * 1.442695040888963 + magic
    let n = shifted - magic
    // ln2 in two parts (Cody–Waite): n·ln2_hi is exact, so r keeps full precision.
    let r = x - n * 0.693145751953125 - n * 1.428606765330187e-06
    // Fused multiply-adds: half the instructions of `p * r + c`, which Swift never contracts.
    var p = FloatVector(repeating: 0.008312525109857468)
    p = FloatVector(repeating: 0.0418901139811352).addingProduct(p, r)
    p = FloatVector(repeating: 0.16667114465722163).addingProduct(p, r)
    p = FloatVector(repeating: 0.49999231785575254).addingProduct(p, r)
    p = FloatVector(repeating: 1).addingProduct(p, r)
    p = FloatVector(repeating: 1).addingProduct(p, r)
    let exponent = (unsafeBitCast(shifted, to: IntVector.self) &- 0x4B40_0000 &+ 127) &<< 23
    return p * unsafeBitCast(exponent, to: FloatVector.self)
}

/// erf(x) as the rational minimax approximation on [-4, 4] (beyond it erf is ±1 in float32).
@inline(__always)
func simdErf(_ x: FloatVector) -> FloatVector {
    let z = clamp(x, -4, 4)
    let z2 = z * z
    var p = FloatVector(repeating: -2.72614225801306e-10)
    p = p * z2 + 2.77068142495902e-08
    p = p * z2 - 2.10102402082508e-06
    p = p * z2 - 5.69250639462346e-05
    p = p * z2 - 7.34990630326855e-04
    p = p * z2 - 2.95459980854025e-03
    p = p * z2 - 1.60960333262415e-02
    p = p * z
    var q = FloatVector(repeating: -1.45660718464996e-05)
    q = q * z2 - 2.13374055278905e-04
    q = q * z2 - 1.68282697438203e-03
    q = q * z2 - 7.37332916720468e-03
    q = q * z2 - 1.42647390514189e-02
    return p / q
}

/// The first `count` elements at `p` (all lanes when `count` ≥ `lanes`), `padding` elsewhere.
@inline(__always)
func loadVector(_ p: UnsafePointer<Float>, count: Int, padding: Float = 0) -> FloatVector {
    if count >= lanes { return UnsafeRawPointer(p).loadUnaligned(as: FloatVector.self) }
    var v = FloatVector(repeating: padding)
    withUnsafeMutableBytes(of: &v) { $0.copyMemory(from: UnsafeRawBufferPointer(start: p, count: count * 4)) }
    return v
}

/// Stores the first `count` lanes of `v` (all when `count` ≥ `lanes`).
@inline(__always)
func storeVector(_ v: FloatVector, to p: UnsafeMutablePointer<Float>, count: Int) {
    if count >= lanes {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: FloatVector.self)
    } else {
        withUnsafeBytes(of: v) { UnsafeMutableRawPointer(p).copyMemory(from: $0.baseAddress!, byteCount: count * 4) }
    }
}

/// Calls `body(offset, valid)` for the vectors covering `0..<count`; `valid` is `lanes` except
/// for a shorter last vector, so the full-vector loop compiles without a per-element tail test.
@inline(__always)
func forEachVector(_ count: Int, _ body: (_ offset: Int, _ valid: Int) -> Void) {
    var i = 0
    while i + lanes <= count {
        body(i, lanes)
        i += lanes
    }
    if i < count { body(i, count - i) }
}

/// An elementwise function of vectors. Kernels take it as a type parameter, so each is
/// specialised with the function inlined: a closure would be called indirectly for every vector
/// from the pool threads' jobs, with its sixteen lanes passed in four SSE registers.
protocol VectorMap {
    func callAsFunction(_ v: FloatVector) -> FloatVector
}

/// Applies `map` to `buffer` one vector at a time, split over threads when the buffer is large;
/// `cost` is roughly the operations `map` spends per element.
@inline(__always)
func mapSIMD<Map: VectorMap>(_ buffer: UnsafeMutableBufferPointer<Float>, cost: Int, _ map: Map) {
    guard let base = buffer.baseAddress else { return }
    let blockSize = 4096
    let blocks = (buffer.count + blockSize - 1) / blockSize
    parallelRanges(blocks, unitCost: cost * blockSize) { range in
        let start = range.lowerBound * blockSize, end = min(range.upperBound * blockSize, buffer.count)
        forEachVector(end - start) { i, n in
            let p = base + start + i
            storeVector(map(loadVector(p, count: n)), to: p, count: n)
        }
    }
}

/// Sum of a buffer with one accumulator per lane.
@inline(__always)
func simdSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = FloatVector(repeating: 0)
    forEachVector(n) { i, valid in acc += loadVector(p + i, count: valid) }
    return acc.sum()
}

/// Largest element of a buffer. Four accumulators: with one, each compare-and-select waits for
/// the last, and the softmax's pass over a row of logits took a third of its exponentials' time.
/// Not inlined: inlined, it made the softmax too large for Swift to inline its exponential loop.
@inline(never)
func simdMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    let step = 4 * lanes
    var acc0 = FloatVector(repeating: -.infinity), acc1 = acc0, acc2 = acc0, acc3 = acc0
    @inline(__always) func fold(_ acc: inout FloatVector, _ v: FloatVector) { acc = acc.replacing(with: v, where: v .> acc) }
    var i = 0
    while i + step <= n {
        fold(&acc0, loadVector(p + i, count: lanes))
        fold(&acc1, loadVector(p + i + lanes, count: lanes))
        fold(&acc2, loadVector(p + i + 2 * lanes, count: lanes))
        fold(&acc3, loadVector(p + i + 3 * lanes, count: lanes))
        i += step
    }
    forEachVector(n - i) { j, valid in fold(&acc0, loadVector(p + i + j, count: valid, padding: -.infinity)) }
    fold(&acc0, acc1)
    fold(&acc2, acc3)
    fold(&acc0, acc2)
    return acc0.max()
}

/// p[0..<count] *= factor.
@inline(__always)
func scaleInPlace(_ p: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
    forEachVector(count) { i, valid in
        storeVector(loadVector(p + i, count: valid) * factor, to: p + i, count: valid)
    }
}

// MARK: - Activations (in place)

/// Exact GELU, x·½·(1 + erf(x/√2)), as PyTorch's default `nn.GELU()`. Transparent: the
/// optimiser's cost model otherwise keeps this one out of line inside the kernels' closures, and
/// a call passes its sixteen lanes in four SSE registers.
@_transparent
func simdGELU(_ v: FloatVector) -> FloatVector { v * 0.5 * (1 + simdErf(v * 0.70710678118654752)) }

public func geluInPlace(_ x: inout Tensor) {
    struct GELU: VectorMap {
        @inline(__always) func callAsFunction(_ v: FloatVector) -> FloatVector { simdGELU(v) }
    }
    x.data.withUnsafeMutableBufferPointer { mapSIMD($0, cost: 30, GELU()) }
}

/// W·GELU(X + b) for each [R, N] map X of a batch: x [S, R, N], bias [R], weight [M, R] → [S, M, N].
/// One pass over `x`, the activations never stored: the mask decoder's hypernetwork product with
/// its last upscaled features, which would otherwise be written out and read back.
public func projectGELU(_ x: Tensor, bias: Tensor, weight: Tensor) -> Tensor {
    let rows = weight.shape[1], outputs = weight.shape[0]
    let columns = x.shape.last!, maps = x.count / (rows * columns)
    precondition(x.rank >= 2 && x.shape[x.rank - 2] == rows && bias.count == rows, "projectGELU: \(x.shape), \(weight.shape)")
    let blockWidth = 256, blocksPerMap = (columns + blockWidth - 1) / blockWidth
    return Tensor(shape: [maps, outputs, columns]) { out in
        x.data.withUnsafeBufferPointer { px in
            weight.data.withUnsafeBufferPointer { w in
                bias.data.withUnsafeBufferPointer { b in
                    parallelFor(maps * blocksPerMap) { _, item in
                        let map = item / blocksPerMap, start = item % blocksPerMap * blockWidth
                        let width = min(blockWidth, columns - start)
                        let source = px.baseAddress! + map * rows * columns + start
                        let target = out.baseAddress! + map * outputs * columns + start
                        for m in 0..<outputs { (target + m * columns).update(repeating: 0, count: width) }
                        // Row by row, so each activation is used for every output while in a register.
                        for r in 0..<rows {
                            let row = source + r * columns, shift = b[r]
                            for i in stride(from: 0, to: width, by: lanes) {
                                let valid = min(lanes, width - i)
                                let activation = simdGELU(loadVector(row + i, count: valid) + shift)
                                for m in 0..<outputs {
                                    let sum = target + m * columns + i
                                    let updated = loadVector(sum, count: valid) + w[m * rows + r] * activation
                                    storeVector(updated, to: sum, count: valid)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

public func reluInPlace(_ x: inout Tensor) {
    struct ReLU: VectorMap {
        @inline(__always) func callAsFunction(_ v: FloatVector) -> FloatVector { v.replacing(with: 0, where: v .< 0) }
    }
    x.data.withUnsafeMutableBufferPointer { mapSIMD($0, cost: 2, ReLU()) }
}

public func gelu(_ x: Tensor) -> Tensor { var y = x; geluInPlace(&y); return y }
public func relu(_ x: Tensor) -> Tensor { var y = x; reluInPlace(&y); return y }

/// Exponential of every element (exposed for tests of the approximation).
public func expInPlace(_ x: inout Tensor) {
    struct Exp: VectorMap {
        @inline(__always) func callAsFunction(_ v: FloatVector) -> FloatVector { simdExp(v) }
    }
    x.data.withUnsafeMutableBufferPointer { mapSIMD($0, cost: 25, Exp()) }
}

/// The exponentials of a softmax, for one block of logits or for one chunk of keys at a time
/// (flash-attention style). Every row of a [rows, cols] block (rows `stride` apart) is replaced by
/// exp(x − m), where m is the larger of the row's maximum and `maxima[r]`, which receives m;
/// `sums[r]` receives the row's sum and `rescale[r]` exp(previous maximum − m), the factor by
/// which sums and outputs of earlier chunks must be multiplied. Start `maxima` at −∞ (a single
/// block then gets rescale 0, and its softmax is the row divided by its sum).
func exponentiateRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int,
                      maxima: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>,
                      rescale: UnsafeMutablePointer<Float>) {
    if cols < lanes && stride == cols {
        exponentiateShortRows(p, rows: rows, cols: cols, maxima: maxima, sums: sums, rescale: rescale)
        return
    }
    for r in 0..<rows {
        let row = p + r * stride
        let rowMax = max(maxima[r], simdMax(row, cols))
        var sum = FloatVector(repeating: 0)
        forEachVector(cols) { i, valid in
            // Padding lanes hold −∞ and are never stored; their ~1e-38 is lost in the sum.
            let e = simdExpOfNonPositive(loadVector(row + i, count: valid, padding: -.infinity) - rowMax)
            storeVector(e, to: row + i, count: valid)
            sum += e
        }
        rescale[r] = Foundation.exp(maxima[r] - rowMax)
        maxima[r] = rowMax
        sums[r] = sum.sum()
    }
}

/// `exponentiateRows` for contiguous rows shorter than a vector (the decoder's image-to-token
/// attention has about ten keys): per-row work is scalar, and the exponentials run over the
/// block as one flat array instead of one mostly empty vector per row.
private func exponentiateShortRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                                   maxima: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>,
                                   rescale: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        let row = p + r * cols
        var rowMax = maxima[r]
        for i in 0..<cols { rowMax = max(rowMax, row[i]) }
        for i in 0..<cols { row[i] -= rowMax }
        rescale[r] = Foundation.exp(maxima[r] - rowMax)
        maxima[r] = rowMax
    }
    forEachVector(rows * cols) { i, valid in
        storeVector(simdExpOfNonPositive(loadVector(p + i, count: valid)), to: p + i, count: valid)
    }
    for r in 0..<rows {
        let row = p + r * cols
        var sum: Float = 0
        for i in 0..<cols { sum += row[i] }
        sums[r] = sum
    }
}

/// Per-row state of a softmax computed chunk by chunk: running maxima and sums, and the last
/// chunk's rescale factors, for up to `rows` rows in one buffer.
struct SoftmaxRowState {
    let maxima: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>, rescale: UnsafeMutablePointer<Float>

    /// Floats of scratch needed for `rows` rows.
    static func scratchSize(rows: Int) -> Int { 3 * rows }

    /// Lays the state out in `scratch` and resets the first `rows` rows.
    init(_ scratch: UnsafeMutablePointer<Float>, rows: Int) {
        maxima = scratch
        sums = scratch + rows
        rescale = scratch + 2 * rows
        maxima.update(repeating: -.infinity, count: rows)
    }

    /// Exponentiates one chunk of logits (rows `stride` apart) and folds its sums in.
    func exponentiate(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int, first: Bool) {
        if first {
            exponentiateRows(p, rows: rows, cols: cols, stride: stride, maxima: maxima, sums: sums, rescale: rescale)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rows) { chunkSums in
            exponentiateRows(p, rows: rows, cols: cols, stride: stride, maxima: maxima, sums: chunkSums.baseAddress!,
                             rescale: rescale)
            for r in 0..<rows { sums[r] = sums[r] * rescale[r] + chunkSums[r] }
        }
    }
}

/// Softmax over each row of a row-major [rows, cols] block whose rows are `stride` apart,
/// ranges of rows in parallel.
public func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int) {
    parallelRanges(rows, unitCost: 30 * cols) { range in
        let first = p + range.lowerBound * stride
        withUnsafeTemporaryAllocation(of: Float.self, capacity: SoftmaxRowState.scratchSize(rows: range.count)) { scratch in
            let state = SoftmaxRowState(scratch.baseAddress!, rows: range.count)
            state.exponentiate(first, rows: range.count, cols: cols, stride: stride, first: true)
            for r in 0..<range.count { scaleInPlace(first + r * stride, count: cols, by: 1 / state.sums[r]) }
        }
    }
}

/// Softmax over the last dimension.
public func softmax(_ x: Tensor) -> Tensor {
    var y = x
    let cols = x.shape.last ?? 1
    y.data.withUnsafeMutableBufferPointer {
        softmaxRows($0.baseAddress!, rows: x.count / max(cols, 1), cols: cols, stride: cols)
    }
    return y
}

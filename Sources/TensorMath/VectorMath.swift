// Vectorised elementwise kernels. Swift does not auto-vectorise calls to libm, and the
// encoder evaluates hundreds of millions of exponentials (softmax) and error functions (GELU),
// so these use SIMD polynomial approximations accurate to a few ulp. Only operations that
// lower to vector instructions are used (arithmetic, comparisons, `replacing`): the generic
// `clamped`, `pointwiseMax` and `rounded` fall back to per-lane code.

typealias FloatVector = SIMD8<Float>
typealias IntVector = SIMD8<Int32>
let lanes = FloatVector.scalarCount

@inline(__always)
func clamp(_ x: FloatVector, _ low: Float, _ high: Float) -> FloatVector {
    let lowered = x.replacing(with: low, where: x .< low)
    return lowered.replacing(with: high, where: lowered .> high)
}

@inline(__always)
func simdExp(_ x: FloatVector) -> FloatVector {
    // exp(x) = 2^n · exp(r), n = round(x / ln2), |r| ≤ ln2/2; degree-6 polynomial for exp(r).
    // Adding 1.5·2^23 rounds to an integer in the low mantissa bits, which avoids the
    // (unvectorised) float→int conversion and gives 2^n by integer arithmetic.
    let magic: Float = 12582912
    let clamped = clamp(x, -87.3, 88.3)
    let shifted = clamped * 1.442695040888963 + magic
    let n = shifted - magic
    let r = clamped - n * 0.693145751953125 - n * 1.428606765330187e-06
    var p = FloatVector(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let exponent = (unsafeBitCast(shifted, to: IntVector.self) &- 0x4B40_0000 &+ 127) &<< 23
    // Below the clamp the result is 0 (not exp(−87.3)), so −∞ works as a mask.
    return (p * unsafeBitCast(exponent, to: FloatVector.self)).replacing(with: 0, where: x .< -87.3)
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
    for j in 0..<count { v[j] = p[j] }
    return v
}

/// Stores the first `count` lanes of `v` (all when `count` ≥ `lanes`).
@inline(__always)
func storeVector(_ v: FloatVector, to p: UnsafeMutablePointer<Float>, count: Int) {
    if count >= lanes {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: FloatVector.self)
    } else {
        for j in 0..<count { p[j] = v[j] }
    }
}

/// Applies `body` to `buffer` one vector at a time, split over threads when the buffer is large;
/// `cost` is roughly the operations `body` spends per element.
@inline(__always)
func mapSIMD(_ buffer: UnsafeMutableBufferPointer<Float>, cost: Int, _ body: (FloatVector) -> FloatVector) {
    guard let base = buffer.baseAddress else { return }
    let vectors = (buffer.count + lanes - 1) / lanes
    parallelRanges(vectors, unitCost: cost * lanes) { range in
        for vector in range {
            let i = vector * lanes, n = min(lanes, buffer.count - i)
            storeVector(body(loadVector(base + i, count: n)), to: base + i, count: n)
        }
    }
}

/// Sum of a buffer with one accumulator per lane.
@inline(__always)
func simdSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = FloatVector(repeating: 0)
    var i = 0
    while i < n {
        acc += loadVector(p + i, count: n - i)
        i += lanes
    }
    return acc.sum()
}

@inline(__always)
func simdMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = FloatVector(repeating: -.infinity)
    var i = 0
    while i < n {
        let v = loadVector(p + i, count: n - i, padding: -.infinity)
        acc = acc.replacing(with: v, where: v .> acc)
        i += lanes
    }
    return acc.max()
}

/// p[0..<count] *= factor.
@inline(__always)
func scaleInPlace(_ p: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
    var i = 0
    while i < count {
        let n = min(lanes, count - i)
        storeVector(loadVector(p + i, count: n) * factor, to: p + i, count: n)
        i += lanes
    }
}

// MARK: - Activations (in place)

/// Exact GELU, x·½·(1 + erf(x/√2)), as PyTorch's default `nn.GELU()`.
public func geluInPlace(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { buffer in
        mapSIMD(buffer, cost: 30) { v in v * 0.5 * (1 + simdErf(v * 0.70710678118654752)) }
    }
}

public func reluInPlace(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { buffer in
        mapSIMD(buffer, cost: 2) { v in v.replacing(with: 0, where: v .< 0) }
    }
}

public func gelu(_ x: Tensor) -> Tensor { var y = x; geluInPlace(&y); return y }
public func relu(_ x: Tensor) -> Tensor { var y = x; reluInPlace(&y); return y }

/// Exponential of every element (exposed for tests of the approximation).
public func expInPlace(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { mapSIMD($0, cost: 25, simdExp) }
}

/// Replaces every row of a [rows, cols] block (rows `stride` apart) by exp(x − max of the row)
/// and writes the reciprocal of each row's sum to `inverseSums`: a softmax whose final scaling
/// is left to the caller, who may apply it to a smaller product instead.
func exponentiateRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int,
                      inverseSums: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        let row = p + r * stride
        let rowMax = simdMax(row, cols)
        var sum = FloatVector(repeating: 0)
        var i = 0
        while i < cols {
            let n = min(lanes, cols - i)
            // Padding lanes hold −∞, whose exponential is 0.
            let e = simdExp(loadVector(row + i, count: n, padding: -.infinity) - rowMax)
            storeVector(e, to: row + i, count: n)
            sum += e
            i += lanes
        }
        inverseSums[r] = 1 / sum.sum()
    }
}

/// Softmax over each row of a row-major [rows, cols] block whose rows are `stride` apart.
public func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int) {
    for r in 0..<rows {
        let row = p + r * stride
        var inverseSum: Float = 0
        exponentiateRows(row, rows: 1, cols: cols, stride: stride, inverseSums: &inverseSum)
        scaleInPlace(row, count: cols, by: inverseSum)
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

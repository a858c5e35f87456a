// Vectorised elementwise kernels. Swift does not auto-vectorise calls to libm, and the
// encoder evaluates hundreds of millions of exponentials (softmax) and error functions (GELU),
// so these use SIMD16 polynomial approximations accurate to a few ulp.

public typealias Float16x = SIMD16<Float>

@inline(__always)
func simdExp(_ x: Float16x) -> Float16x {
    // exp(x) = 2^n · exp(r), n = round(x / ln2), |r| ≤ ln2/2; degree-6 polynomial for exp(r).
    let clamped = x.clamped(lowerBound: Float16x(repeating: -87.3), upperBound: Float16x(repeating: 88.3))
    let n = (clamped * 1.442695040888963).rounded(.toNearestOrEven)
    let r = clamped - n * 0.693145751953125 - n * 1.428606765330187e-06
    var p = Float16x(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let exponent = (SIMD16<Int32>(n, rounding: .towardZero) &+ 127) &<< 23
    return p * unsafeBitCast(exponent, to: Float16x.self)
}

/// erf(x) as the rational minimax approximation on [-4, 4] (beyond it erf is ±1 in float32).
@inline(__always)
func simdErf(_ x: Float16x) -> Float16x {
    let z = x.clamped(lowerBound: Float16x(repeating: -4), upperBound: Float16x(repeating: 4))
    let z2 = z * z
    var p = Float16x(repeating: -2.72614225801306e-10)
    p = p * z2 + 2.77068142495902e-08
    p = p * z2 - 2.10102402082508e-06
    p = p * z2 - 5.69250639462346e-05
    p = p * z2 - 7.34990630326855e-04
    p = p * z2 - 2.95459980854025e-03
    p = p * z2 - 1.60960333262415e-02
    p = p * z
    var q = Float16x(repeating: -1.45660718464996e-05)
    q = q * z2 - 2.13374055278905e-04
    q = q * z2 - 1.68282697438203e-03
    q = q * z2 - 7.37332916720468e-03
    q = q * z2 - 1.42647390514189e-02
    return p / q
}

/// Applies `body` to `buffer` sixteen lanes at a time; the tail is padded with zeros.
@inline(__always)
func mapSIMD16(_ buffer: UnsafeMutableBufferPointer<Float>, _ body: (Float16x) -> Float16x) {
    let n = buffer.count
    guard let base = buffer.baseAddress else { return }
    var i = 0
    while i + 16 <= n {
        let v = UnsafeRawPointer(base + i).loadUnaligned(as: Float16x.self)
        UnsafeMutableRawPointer(base + i).storeBytes(of: body(v), as: Float16x.self)
        i += 16
    }
    if i < n {
        var v = Float16x(repeating: 0)
        for j in 0..<(n - i) { v[j] = base[i + j] }
        let r = body(v)
        for j in 0..<(n - i) { base[i + j] = r[j] }
    }
}

/// Sum of a buffer with 16 independent accumulators.
@inline(__always)
func simdSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Float16x(repeating: 0)
    var i = 0
    while i + 16 <= n {
        acc += UnsafeRawPointer(p + i).loadUnaligned(as: Float16x.self)
        i += 16
    }
    var s = acc.sum()
    while i < n { s += p[i]; i += 1 }
    return s
}

@inline(__always)
func simdMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Float16x(repeating: -.infinity)
    var i = 0
    while i + 16 <= n {
        acc = pointwiseMax(acc, UnsafeRawPointer(p + i).loadUnaligned(as: Float16x.self))
        i += 16
    }
    var m = acc.max()
    while i < n { m = max(m, p[i]); i += 1 }
    return m
}

// MARK: - Activations (in place)

/// Exact GELU, x·½·(1 + erf(x/√2)), as PyTorch's default `nn.GELU()`.
public func geluInPlace(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { buffer in
        mapSIMD16(buffer) { v in v * 0.5 * (1 + simdErf(v * 0.70710678118654752)) }
    }
}

public func reluInPlace(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { buffer in
        mapSIMD16(buffer) { v in pointwiseMax(v, Float16x(repeating: 0)) }
    }
}

public func gelu(_ x: Tensor) -> Tensor { var y = x; geluInPlace(&y); return y }
public func relu(_ x: Tensor) -> Tensor { var y = x; reluInPlace(&y); return y }

/// Exponential of every element (exposed for tests of the approximation).
public func expInPlace(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { mapSIMD16($0, simdExp) }
}

/// Softmax over each row of a row-major [rows, cols] block whose rows are `stride` apart.
public func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int) {
    for r in 0..<rows {
        let row = p + r * stride
        let m = simdMax(row, cols)
        let buffer = UnsafeMutableBufferPointer(start: row, count: cols)
        mapSIMD16(buffer) { v in simdExp(v - m) }
        let inv = 1 / simdSum(row, cols)
        mapSIMD16(buffer) { v in v * inv }
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

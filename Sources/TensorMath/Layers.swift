import Foundation

// Dense layers in PyTorch's parameter layouts: Linear weight [out, in], Conv2d weight
// [out, in, kh, kw], ConvTranspose2d weight [in, out, kh, kw]. Feature maps are CHW.

/// y = x·Wᵀ + b over the last dimension of `x`.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    weight.data.withUnsafeBufferPointer { w in
        linear(x, weight: w.baseAddress!, outFeatures: weight.shape[0], inFeatures: weight.shape[1], bias: bias)
    }
}

extension MatrixWeights {
    /// x·Wᵀ + b over the last dimension of `x`. A 16-bit matrix is widened into scratch and goes
    /// through exactly the computation of a float32 one, so both give the same bits.
    public func apply(to x: Tensor, bias: Tensor) -> Tensor {
        switch self {
        case .dense(let weight):
            return linear(x, weight: weight, bias: bias)
        case .halfPrecision(let weight):
            return weight.withWidened { linear(x, weight: $0, outFeatures: weight.rows, inFeatures: weight.columns, bias: bias) }
        case .quantized:
            var y = apply(to: x)
            addInPlace(&y, bias)
            return y
        }
    }
}

/// y = x·Wᵀ + b with W [outFeatures, inFeatures] at `weight`.
private func linear(_ x: Tensor, weight: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int, bias: Tensor?) -> Tensor {
    precondition(x.shape.last == inFeatures, "linear: input \(x.shape) vs weight [\(outFeatures), \(inFeatures)]")
    let rows = x.count / inFeatures
    var outShape = x.shape
    outShape[outShape.count - 1] = outFeatures
    return Tensor(shape: outShape) { out in
        let o = out.baseAddress!
        if let bias {
            // The product accumulates onto the bias (beta = 1).
            bias.data.withUnsafeBufferPointer { b in
                parallelRanges(rows, unitCost: outFeatures) { range in
                    for r in range { (o + r * outFeatures).update(from: b.baseAddress!, count: outFeatures) }
                }
            }
        }
        x.data.withUnsafeBufferPointer { px in
            gemm(transB: true, m: rows, n: outFeatures, k: inFeatures,
                 a: px.baseAddress!, lda: inFeatures, b: weight, ldb: inFeatures,
                 beta: bias == nil ? 0 : 1, c: o, ldc: outFeatures)
        }
    }
}

/// Elementwise a += b (same shape), or b broadcast over leading dimensions when smaller.
public func addInPlace(_ a: inout Tensor, _ b: Tensor) {
    precondition(a.count % b.count == 0, "add: \(a.shape) and \(b.shape) do not broadcast")
    a.data.withUnsafeMutableBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            add(pa.baseAddress!, count: pa.count, pb.baseAddress!, period: pb.count, into: pa.baseAddress!)
        }
    }
}

/// a + b (same shape), or b broadcast over leading dimensions when smaller.
public func + (a: Tensor, b: Tensor) -> Tensor {
    precondition(a.count % b.count == 0, "add: \(a.shape) and \(b.shape) do not broadcast")
    return Tensor(shape: a.shape) { out in
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                add(pa.baseAddress!, count: pa.count, pb.baseAddress!, period: pb.count, into: out.baseAddress!)
            }
        }
    }
}

/// out[i] = a[i] + b[i mod period] for i < count; `out` may be `a`.
private func add(_ a: UnsafePointer<Float>, count: Int, _ b: UnsafePointer<Float>, period: Int,
                 into out: UnsafeMutablePointer<Float>) {
    parallelRanges(count, unitCost: 1) { range in
        // Runs that do not wrap around b, so the inner loop vectorises.
        var i = range.lowerBound
        while i < range.upperBound {
            let j = i % period, run = min(range.upperBound - i, period - j)
            for k in 0..<run { out[i + k] = a[i + k] + b[j + k] }
            i += run
        }
    }
}

/// Adds `bias[c]` to every element of channel c of a CHW tensor.
public func addChannelBias(_ x: inout Tensor, _ bias: Tensor) {
    let channels = x.shape[0], plane = x.count / channels
    x.data.withUnsafeMutableBufferPointer { p in
        bias.data.withUnsafeBufferPointer { b in
            parallelRanges(channels, unitCost: plane) { range in
                for c in range {
                    let channel = p.baseAddress! + c * plane, value = b[c]
                    for i in 0..<plane { channel[i] += value }
                }
            }
        }
    }
}

/// Row-major transpose of a [rows, cols] tensor.
public func transpose2D(_ x: Tensor) -> Tensor {
    let rows = x.shape[0], cols = x.shape[1]
    let blockSize = 32
    return Tensor(shape: [cols, rows]) { out in
        x.data.withUnsafeBufferPointer { p in
            // Square blocks keep both the rows read and the rows written in cache.
            parallelRanges((rows + blockSize - 1) / blockSize, unitCost: blockSize * cols) { rowBlocks in
                for r0 in stride(from: rowBlocks.lowerBound * blockSize, to: min(rowBlocks.upperBound * blockSize, rows),
                                 by: blockSize) {
                    for c0 in stride(from: 0, to: cols, by: blockSize) {
                        for r in r0..<min(r0 + blockSize, rows) {
                            for c in c0..<min(c0 + blockSize, cols) { out[c * rows + r] = p[r * cols + c] }
                        }
                    }
                }
            }
        }
    }
}

// MARK: - Normalisation

/// LayerNorm over the last dimension, of `x + residual` when a residual is given (one pass for a
/// residual connection and the norm after it).
public func layerNorm(_ x: Tensor, adding residual: Tensor? = nil, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    let width = x.shape.last!
    let rows = x.count / width
    precondition(residual.map { $0.count == x.count } ?? true, "layerNorm: residual \(residual!.shape) vs \(x.shape)")
    return Tensor(shape: x.shape) { out in
        x.data.withUnsafeBufferPointer { px in
        (residual?.data ?? []).withUnsafeBufferPointer { pr in
        weight.data.withUnsafeBufferPointer { pw in
        bias.data.withUnsafeBufferPointer { pb in
            let w = pw.baseAddress!, b = pb.baseAddress!, hasResidual = residual != nil
            parallelRanges(rows, unitCost: 8 * width) { range in
                for r in range {
                    let target = out.baseAddress! + r * width
                    var row = UnsafePointer(px.baseAddress! + r * width)
                    if hasResidual {
                        // The sum goes to the output row, normalised there while in L1.
                        let added = pr.baseAddress! + r * width
                        for i in 0..<width { target[i] = row[i] + added[i] }
                        row = UnsafePointer(target)
                    }
                    let mean = simdSum(row, width) / Float(width)
                    var squares = FloatVector(repeating: 0)
                    forEachVector(width) { i, valid in
                        // Padding with the mean adds nothing to the squared deviations.
                        let d = loadVector(row + i, count: valid, padding: mean) - mean
                        squares += d * d
                    }
                    let inverse = 1 / (squares.sum() / Float(width) + eps).squareRoot()
                    forEachVector(width) { i, valid in
                        let normalised = (loadVector(row + i, count: valid) - mean) * inverse
                        storeVector(normalised * loadVector(w + i, count: valid) + loadVector(b + i, count: valid),
                                    to: target + i, count: valid)
                    }
                }
            }
        }}}}
    }
}

/// SAM's LayerNorm2d: normalises over the channels of each pixel of `x` [..., C, H, W]; leading
/// dimensions are separate maps.
public func layerNorm2d(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    precondition(x.rank >= 3, "layerNorm2d: input \(x.shape) is not [..., C, H, W]")
    let channels = x.shape[x.rank - 3], plane = x.shape[x.rank - 2] * x.shape[x.rank - 1]
    let maps = x.count / (channels * plane)
    return Tensor(shape: x.shape) { out in
        x.data.withUnsafeBufferPointer { px in
            for map in 0..<maps {
                let source = px.baseAddress! + map * channels * plane, target = out.baseAddress! + map * channels * plane
                // Each range of pixels is normalised on its own, channel plane by channel plane.
                parallelRanges(plane, unitCost: 8 * channels) { pixels in
                    let n = pixels.count
                    var statistics = [Float](repeating: 0, count: 2 * n)
                    statistics.withUnsafeMutableBufferPointer { buffer in
                        let mean = buffer.baseAddress!, inverse = mean + n
                        let channel = { (c: Int) in source + c * plane + pixels.lowerBound }
                        for c in 0..<channels {
                            let values = channel(c)
                            for i in 0..<n { mean[i] += values[i] }
                        }
                        for i in 0..<n { mean[i] /= Float(channels) }
                        for c in 0..<channels {
                            let values = channel(c)
                            for i in 0..<n { let d = values[i] - mean[i]; inverse[i] += d * d }
                        }
                        for i in 0..<n { inverse[i] = 1 / (inverse[i] / Float(channels) + eps).squareRoot() }
                        for c in 0..<channels {
                            let values = channel(c), normalised = target + c * plane + pixels.lowerBound
                            let w = weight.data[c], b = bias.data[c]
                            for i in 0..<n { normalised[i] = (values[i] - mean[i]) * inverse[i] * w + b }
                        }
                    }
                }
            }
        }
    }
}

/// GroupNorm with one group (EfficientSAM's upscaler): one mean and variance over every element
/// of `x`, then channel c's affine parameters on every row r with r mod C = c, for `x` made of
/// channel-major maps [..., C, pixels] (C = `weight.count`).
public func singleGroupNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    let channels = weight.count, n = x.count, plane = x.shape.last!, rows = n / plane
    precondition(x.rank >= 2 && rows % channels == 0, "singleGroupNorm: input \(x.shape), \(channels) channels")
    return Tensor(shape: x.shape) { out in
        x.data.withUnsafeBufferPointer { px in
            let start = px.baseAddress!
            struct Identity: VectorMap {
                @inline(__always) func callAsFunction(_ v: FloatVector) -> FloatVector { v }
            }
            struct SquaredDeviation: VectorMap {
                let mean: Float
                @inline(__always) func callAsFunction(_ v: FloatVector) -> FloatVector { (v - mean) * (v - mean) }
            }
            // Two-pass mean and variance: the group holds millions of values.
            let mean = Float(blockwiseSum(start, count: n, Identity()) / Double(n))
            let variance = blockwiseSum(start, count: n, padding: mean, SquaredDeviation(mean: mean)) / Double(n)
            let inverse = Float(1 / (variance + Double(eps)).squareRoot())
            parallelRanges(rows, unitCost: 2 * plane) { range in
                for row in range {
                    let w = weight.data[row % channels] * inverse, b = bias.data[row % channels]
                    let source = start + row * plane, target = out.baseAddress! + row * plane
                    for i in 0..<plane { target[i] = (source[i] - mean) * w + b }
                }
            }
        }
    }
}

/// Σ term(p[i]) over `0..<count`: float lanes within blocks of 4096, blocks added in double,
/// blocks spread over the cores. `padding` fills the last vector and must make `term` zero.
private func blockwiseSum<Term: VectorMap>(_ p: UnsafePointer<Float>, count: Int, padding: Float = 0,
                                          _ term: Term) -> Double {
    let blockSize = 4096, blocks = (count + blockSize - 1) / blockSize
    var partial = [Double](repeating: 0, count: blocks)
    partial.withUnsafeMutableBufferPointer { sums in
        parallelRanges(blocks, unitCost: 2 * blockSize) { range in
            for block in range {
                let start = block * blockSize
                var acc = FloatVector(repeating: 0)
                forEachVector(min(blockSize, count - start)) { i, valid in
                    acc += term(loadVector(p + start + i, count: valid, padding: padding))
                }
                sums[block] = Double(acc.sum())
            }
        }
    }
    return partial.reduce(0, +)
}

// MARK: - Convolutions

/// Conv2d on a CHW input (groups = 1) through im2col and one sgemm.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) -> Tensor {
    let inC = x.shape[0], h = x.shape[1], w = x.shape[2]
    let outC = weight.shape[0], kh = weight.shape[2], kw = weight.shape[3]
    precondition(weight.shape[1] == inC, "conv2d: input \(x.shape) vs weight \(weight.shape)")
    let outH = (h + 2 * padding - kh) / stride + 1
    let outW = (w + 2 * padding - kw) / stride + 1
    let pixels = outH * outW
    let patch = inC * kh * kw

    // A 1x1 stride-1 convolution is already a matrix product on the CHW layout.
    let columns: Tensor
    if kh == 1 && kw == 1 && stride == 1 && padding == 0 {
        columns = x.reshaped([inC, pixels])
    } else {
        columns = Tensor(shape: [patch, pixels]) { col in
            x.data.withUnsafeBufferPointer { src in
                // Row (c, i, j) of the column matrix holds input channel c shifted by tap (i, j).
                parallelRanges(patch, unitCost: pixels) { rows in
                    for row in rows {
                        let c = row / (kh * kw), i = row / kw % kh, j = row % kw
                        let dst = col.baseAddress! + row * pixels
                        for oy in 0..<outH {
                            let iy = oy * stride + i - padding
                            let rowDst = dst + oy * outW
                            guard iy >= 0 && iy < h else {
                                rowDst.update(repeating: 0, count: outW); continue
                            }
                            let rowSrc = src.baseAddress! + (c * h + iy) * w
                            for ox in 0..<outW {
                                let ix = ox * stride + j - padding
                                rowDst[ox] = (ix >= 0 && ix < w) ? rowSrc[ix] : 0
                            }
                        }
                    }
                }
            }
        }
    }
    var y = Tensor(shape: [outC, outH, outW]) { out in
        weight.data.withUnsafeBufferPointer { pw in
            columns.data.withUnsafeBufferPointer { pc in
                gemm(m: outC, n: pixels, k: patch, a: pw.baseAddress!, lda: patch,
                     b: pc.baseAddress!, ldb: pixels, c: out.baseAddress!, ldc: pixels)
            }
        }
    }
    if let bias { addChannelBias(&y, bias) }
    return y
}

/// ConvTranspose2d with kernel 2 and stride 2 (the SAM upscaler), leaving its output as
/// sub-grids instead of interleaving it: output pixel (2i + a, 2j + b) of a map is pixel (i, j)
/// of sub-grid 2a + b. A map is then one sgemm with no scatter, and chained layers stay in this
/// form: after two, pixel (4i + 2a + a′, 4j + 2b + b′) is pixel (i, j) of sub-grid
/// 4(2a + b) + 2a′ + b′. Maps are channel-major [C, pixels].
public struct SubPixelConvTranspose2x2: Sendable {
    /// [4·out, in]: row (a, b, o) holds PyTorch's weight[:, o, a, b].
    let weight: Tensor
    public let bias: Tensor

    /// `weight` in PyTorch's layout [in, out, 2, 2], `bias` [out].
    public init(weight: Tensor, bias: Tensor) {
        let inC = weight.shape[0], outC = weight.shape[1]
        precondition(weight.rank == 4 && weight.shape[2] == 2 && weight.shape[3] == 2 && bias.count == outC,
                     "SubPixelConvTranspose2x2: weight \(weight.shape), bias \(bias.shape)")
        self.weight = Tensor(shape: [4 * outC, inC]) { out in
            for c in 0..<inC {
                for o in 0..<outC {
                    for tap in 0..<4 { out[(tap * outC + o) * inC + c] = weight.data[(c * outC + o) * 4 + tap] }
                }
            }
        }
        self.bias = bias
    }

    public var outChannels: Int { bias.count }

    /// [G, in, P] (G maps) → [4·G, out, P], sub-grid 2a + b of map g at 4g + 2a + b. With
    /// `tokenMajor`, `x` is one map as [P, in]. `addBias: false` leaves the bias to the caller,
    /// who may fold it into the next pass.
    public func callAsFunction(_ x: Tensor, tokenMajor: Bool = false, addBias: Bool = true) -> Tensor {
        let inC = weight.shape[1], outC = outChannels
        let pixels = tokenMajor ? x.shape[0] : x.shape[x.rank - 1], maps = x.count / (inC * pixels)
        precondition(x.count == maps * inC * pixels && (!tokenMajor || maps == 1), "SubPixelConvTranspose2x2: input \(x.shape)")
        return Tensor(shape: [4 * maps, outC, pixels]) { out in
            if addBias {
                for row in 0..<4 * maps * outC {
                    (out.baseAddress! + row * pixels).update(repeating: bias.data[row % outC], count: pixels)
                }
            }
            x.data.withUnsafeBufferPointer { px in
                weight.data.withUnsafeBufferPointer { pw in
                    for map in 0..<maps {
                        gemm(transB: tokenMajor, m: 4 * outC, n: pixels, k: inC, a: pw.baseAddress!, lda: inC,
                             b: px.baseAddress! + map * inC * pixels, ldb: tokenMajor ? inC : pixels,
                             beta: addBias ? 1 : 0, c: out.baseAddress! + map * 4 * outC * pixels, ldc: pixels)
                    }
                }
            }
        }
    }
}


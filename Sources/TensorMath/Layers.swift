import Foundation

// Dense layers in PyTorch's parameter layouts: Linear weight [out, in], Conv2d weight
// [out, in, kh, kw], ConvTranspose2d weight [in, out, kh, kw]. Feature maps are CHW.

/// y = x·Wᵀ + b over the last dimension of `x`.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
    precondition(x.shape.last == inFeatures, "linear: input \(x.shape) vs weight \(weight.shape)")
    let rows = x.count / inFeatures
    var outShape = x.shape
    outShape[outShape.count - 1] = outFeatures
    return Tensor(shape: outShape) { out in
        let o = out.baseAddress!
        if let bias {
            bias.data.withUnsafeBufferPointer { b in
                for r in 0..<rows { (o + r * outFeatures).update(from: b.baseAddress!, count: outFeatures) }
            }
        }
        x.data.withUnsafeBufferPointer { px in
            weight.data.withUnsafeBufferPointer { pw in
                gemm(transB: true, m: rows, n: outFeatures, k: inFeatures,
                     a: px.baseAddress!, lda: inFeatures, b: pw.baseAddress!, ldb: inFeatures,
                     beta: bias == nil ? 0 : 1, c: o, ldc: outFeatures)
            }
        }
    }
}

/// Elementwise a += b (same shape), or b broadcast over leading dimensions when smaller.
public func addInPlace(_ a: inout Tensor, _ b: Tensor) {
    precondition(a.count % b.count == 0, "add: \(a.shape) and \(b.shape) do not broadcast")
    let n = b.count
    a.data.withUnsafeMutableBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            var offset = 0
            while offset < pa.count {
                for i in 0..<n { pa[offset + i] += pb[i] }
                offset += n
            }
        }
    }
}

public func + (a: Tensor, b: Tensor) -> Tensor { var y = a; addInPlace(&y, b); return y }

/// Adds `bias[c]` to every element of channel c of a CHW tensor.
public func addChannelBias(_ x: inout Tensor, _ bias: Tensor) {
    let channels = x.shape[0], plane = x.count / channels
    x.data.withUnsafeMutableBufferPointer { p in
        for c in 0..<channels {
            let b = bias.data[c]
            for i in 0..<plane { p[c * plane + i] += b }
        }
    }
}

/// Row-major transpose of a [rows, cols] tensor.
public func transpose2D(_ x: Tensor) -> Tensor {
    let rows = x.shape[0], cols = x.shape[1]
    return Tensor(shape: [cols, rows]) { out in
        x.data.withUnsafeBufferPointer { p in
            let blockSize = 32
            for r0 in stride(from: 0, to: rows, by: blockSize) {
                for c0 in stride(from: 0, to: cols, by: blockSize) {
                    for r in r0..<min(r0 + blockSize, rows) {
                        for c in c0..<min(c0 + blockSize, cols) { out[c * rows + r] = p[r * cols + c] }
                    }
                }
            }
        }
    }
}

// MARK: - Normalisation

/// LayerNorm over the last dimension.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    let width = x.shape.last!
    let rows = x.count / width
    var y = x
    y.data.withUnsafeMutableBufferPointer { p in
        weight.data.withUnsafeBufferPointer { w in
            bias.data.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    let row = p.baseAddress! + r * width
                    let mean = simdSum(row, width) / Float(width)
                    var variance: Float = 0
                    for i in 0..<width { let d = row[i] - mean; variance += d * d }
                    let inv = 1 / (variance / Float(width) + eps).squareRoot()
                    for i in 0..<width { row[i] = (row[i] - mean) * inv * w[i] + b[i] }
                }
            }
        }
    }
    return y
}

/// SAM's LayerNorm2d: normalises over the channels of each pixel of a CHW tensor.
public func layerNorm2d(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    let channels = x.shape[0], plane = x.count / channels
    var mean = [Float](repeating: 0, count: plane)
    var variance = [Float](repeating: 0, count: plane)
    var y = x
    y.data.withUnsafeMutableBufferPointer { p in
        mean.withUnsafeMutableBufferPointer { m in
            variance.withUnsafeMutableBufferPointer { v in
                for c in 0..<channels { for i in 0..<plane { m[i] += p[c * plane + i] } }
                for i in 0..<plane { m[i] /= Float(channels) }
                for c in 0..<channels {
                    for i in 0..<plane { let d = p[c * plane + i] - m[i]; v[i] += d * d }
                }
                for i in 0..<plane { v[i] = 1 / (v[i] / Float(channels) + eps).squareRoot() }
                for c in 0..<channels {
                    let w = weight.data[c], b = bias.data[c]
                    for i in 0..<plane { p[c * plane + i] = (p[c * plane + i] - m[i]) * v[i] * w + b }
                }
            }
        }
    }
    return y
}

/// GroupNorm over a CHW tensor with per-channel affine parameters.
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    let channels = x.shape[0], plane = x.count / channels
    let perGroup = channels / groups
    var y = x
    y.data.withUnsafeMutableBufferPointer { p in
        for g in 0..<groups {
            let start = p.baseAddress! + g * perGroup * plane
            let n = perGroup * plane
            // Two-pass mean/variance in double: a group can hold hundreds of thousands of values.
            var sum = 0.0
            for i in 0..<n { sum += Double(start[i]) }
            let mean = sum / Double(n)
            var sq = 0.0
            for i in 0..<n { let d = Double(start[i]) - mean; sq += d * d }
            let inv = Float(1 / (sq / Double(n) + Double(eps)).squareRoot())
            let m = Float(mean)
            for c in 0..<perGroup {
                let channel = g * perGroup + c
                let w = weight.data[channel] * inv, b = bias.data[channel]
                let row = start + c * plane
                for i in 0..<plane { row[i] = (row[i] - m) * w + b }
            }
        }
    }
    return y
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
                for c in 0..<inC {
                    for i in 0..<kh {
                        for j in 0..<kw {
                            let dst = col.baseAddress! + ((c * kh + i) * kw + j) * pixels
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

/// ConvTranspose2d with kernel 2 and stride 2 (the SAM upscaler): every input pixel
/// writes its own 2x2 output block, so it is one sgemm followed by a scatter.
public func convTranspose2x2(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let inC = x.shape[0], h = x.shape[1], w = x.shape[2]
    let outC = weight.shape[1]
    precondition(weight.shape[0] == inC && weight.shape[2] == 2 && weight.shape[3] == 2,
                 "convTranspose2x2: input \(x.shape) vs weight \(weight.shape)")
    let pixels = h * w
    // blocks[(o, a, b), pixel] = Σ_c W[c, (o, a, b)] · x[c, pixel]
    let blocks = Tensor(shape: [outC * 4, pixels]) { out in
        weight.data.withUnsafeBufferPointer { pw in
            x.data.withUnsafeBufferPointer { px in
                gemm(transA: true, m: outC * 4, n: pixels, k: inC, a: pw.baseAddress!, lda: outC * 4,
                     b: px.baseAddress!, ldb: pixels, c: out.baseAddress!, ldc: pixels)
            }
        }
    }
    let outW = 2 * w
    var y = Tensor(shape: [outC, 2 * h, outW]) { out in
        blocks.data.withUnsafeBufferPointer { pb in
            for o in 0..<outC {
                for a in 0..<2 {
                    for b in 0..<2 {
                        let src = pb.baseAddress! + ((o * 2 + a) * 2 + b) * pixels
                        let dst = out.baseAddress! + o * 4 * pixels
                        for i in 0..<h {
                            let rowDst = dst + (2 * i + a) * outW + b
                            for j in 0..<w { rowDst[2 * j] = src[i * w + j] }
                        }
                    }
                }
            }
        }
    }
    if let bias { addChannelBias(&y, bias) }
    return y
}

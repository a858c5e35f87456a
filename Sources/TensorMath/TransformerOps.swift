import Foundation

// Operations of LLaMA-style decoders and SigLIP encoders.

/// RMSNorm over the last dimension: x · rsqrt(mean(x²) + eps) · w.
public func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) -> Tensor {
    let width = x.shape.last!
    var y = x
    y.data.withUnsafeMutableBufferPointer { p in
        weight.data.withUnsafeBufferPointer { w in
            for r in 0..<(x.count / width) {
                let row = p.baseAddress! + r * width
                var sumSquares: Float = 0
                for i in 0..<width { sumSquares += row[i] * row[i] }
                let scale = 1 / (sumSquares / Float(width) + eps).squareRoot()
                for i in 0..<width { row[i] = row[i] * scale * w[i] }
            }
        }
    }
    return y
}

/// GELU with the tanh approximation (`gelu_pytorch_tanh`), as SigLIP uses it.
public func geluTanhInPlace(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { buffer in
        mapSIMD(buffer, cost: 30) { v in
            // tanh(z) = 1 − 2/(e^{2z} + 1)
            let z = 0.7978845608028654 * (v + 0.044715 * v * v * v)
            let tanh = 1 - 2 / (simdExp(2 * z) + 1)
            return 0.5 * v * (1 + tanh)
        }
    }
}

/// SiLU, x·sigmoid(x).
public func siluInPlace(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { buffer in
        mapSIMD(buffer, cost: 25) { v in v / (1 + simdExp(-v)) }
    }
}

/// Elementwise a *= b.
public func multiplyInPlace(_ a: inout Tensor, _ b: Tensor) {
    precondition(a.count == b.count, "multiply: \(a.shape) vs \(b.shape)")
    a.data.withUnsafeMutableBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            for i in 0..<pa.count { pa[i] *= pb[i] }
        }
    }
}

/// Rotary position embedding, the non-interleaved "rotate half" form: within each head,
/// dimension i pairs with i + headDim/2, rotated by the angle position · invFreq[i].
/// `x` is [tokens, heads·headDim]; token t has position `firstPosition + t`.
public func applyRoPE(_ x: inout Tensor, heads: Int, invFreq: [Float], firstPosition: Int) {
    let tokens = x.shape[0], width = x.shape[1]
    let half = invFreq.count, headDim = 2 * half
    precondition(width == heads * headDim, "applyRoPE: \(x.shape) for \(heads) heads of \(headDim)")
    var cosines = [Float](repeating: 0, count: half), sines = [Float](repeating: 0, count: half)
    x.data.withUnsafeMutableBufferPointer { p in
        for t in 0..<tokens {
            let position = Float(firstPosition + t)
            for i in 0..<half {
                let angle = position * invFreq[i]
                cosines[i] = cos(angle)
                sines[i] = sin(angle)
            }
            for h in 0..<heads {
                let head = p.baseAddress! + t * width + h * headDim
                for i in 0..<half {
                    let a = head[i], b = head[i + half]
                    head[i] = a * cosines[i] - b * sines[i]
                    head[i + half] = b * cosines[i] + a * sines[i]
                }
            }
        }
    }
}

/// RoPE inverse frequencies 1 / theta^(2i/d), computed in float32 as the reference does.
public func ropeInverseFrequencies(headDim: Int, theta: Float) -> [Float] {
    (0..<(headDim / 2)).map { 1 / powf(theta, Float(2 * $0) / Float(headDim)) }
}

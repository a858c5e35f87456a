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
                var squares = FloatVector(repeating: 0)
                forEachVector(width) { i, valid in
                    let v = loadVector(row + i, count: valid)
                    squares += v * v
                }
                let scale = 1 / (squares.sum() / Float(width) + eps).squareRoot()
                forEachVector(width) { i, valid in
                    storeVector(loadVector(row + i, count: valid) * scale * loadVector(w.baseAddress! + i, count: valid),
                                to: row + i, count: valid)
                }
            }
        }
    }
    return y
}

/// GELU with the tanh approximation (`gelu_pytorch_tanh`), as SigLIP uses it.
public func geluTanhInPlace(_ x: inout Tensor) {
    struct GELUTanh: VectorMap {
        // ½·v·(1 + tanh z) = v·sigmoid(2z)
        @inline(__always) func callAsFunction(_ v: FloatVector) -> FloatVector {
            timesSigmoid(v, 2 * 0.7978845608028654 * (v + 0.044715 * v * v * v))
        }
    }
    x.data.withUnsafeMutableBufferPointer { mapSIMD($0, cost: 25, GELUTanh()) }
}

/// v·sigmoid(t), exactly 0 where sigmoid(t) < e⁻⁴⁰ (far below float32 tolerances). Computed
/// as v/(1 + e⁻ᵗ), which never divides into a subnormal; the zeros keep the tiny values it would
/// give for very negative t out of the next matrix product, where subnormal products cost a
/// microcode assist each.
@inline(__always)
func timesSigmoid(_ v: FloatVector, _ t: FloatVector) -> FloatVector {
    (v / (1 + simdExp(-t))).replacing(with: 0, where: t .< -40)
}

/// silu(gate)·up, the gated MLP's activation, for rows holding the gate projection then the up
/// projection side by side: [..., 2·width] → [..., width].
public func siluGatedProduct(_ gateUp: Tensor) -> Tensor {
    let doubleWidth = gateUp.shape.last!, width = doubleWidth / 2, rows = gateUp.count / max(doubleWidth, 1)
    precondition(doubleWidth % 2 == 0, "siluGatedProduct: odd last dimension \(gateUp.shape)")
    var shape = gateUp.shape
    shape[shape.count - 1] = width
    return Tensor(shape: shape) { out in
        gateUp.data.withUnsafeBufferPointer { input in
            parallelRanges(rows, unitCost: 30 * width) { range in
                for r in range {
                    let gate = input.baseAddress! + r * doubleWidth, up = gate + width, result = out.baseAddress! + r * width
                    forEachVector(width) { i, valid in
                        let g = loadVector(gate + i, count: valid)
                        storeVector(timesSigmoid(g, g) * loadVector(up + i, count: valid), to: result + i, count: valid)
                    }
                }
            }
        }
    }
}

/// cos and sin of position · invFreq[i] for consecutive positions: computed once per forward
/// pass and shared by every layer.
public struct RotaryAngles: Sendable {
    /// [tokens, invFreq.count] each.
    let cosines: [Float], sines: [Float]
    let half: Int
    public let tokens: Int

    /// Angles of positions `firstPosition ..< firstPosition + tokens`.
    public init(invFreq: [Float], firstPosition: Int, tokens: Int) {
        half = invFreq.count
        self.tokens = tokens
        var cosines = [Float](repeating: 0, count: tokens * half), sines = cosines
        for t in 0..<tokens {
            let position = Float(firstPosition + t)
            for i in 0..<half {
                let angle = position * invFreq[i]
                cosines[t * half + i] = cos(angle)
                sines[t * half + i] = sin(angle)
            }
        }
        self.cosines = cosines
        self.sines = sines
    }
}

/// Rotary position embedding, the non-interleaved "rotate half" form: within each head,
/// dimension i pairs with i + headDim/2, rotated by angle i of the row's position. Row t
/// (`angles.tokens` rows, `rowStride` apart from `rows`) holds `heads` heads of 2·half values.
public func applyRoPE(_ rows: UnsafeMutablePointer<Float>, rowStride: Int, heads: Int, angles: RotaryAngles) {
    let half = angles.half, headDim = 2 * half
    angles.cosines.withUnsafeBufferPointer { cosines in
        angles.sines.withUnsafeBufferPointer { sines in
            for t in 0..<angles.tokens {
                let c = cosines.baseAddress! + t * half, s = sines.baseAddress! + t * half
                for h in 0..<heads {
                    let head = rows + t * rowStride + h * headDim
                    for i in 0..<half {
                        let a = head[i], b = head[i + half]
                        head[i] = a * c[i] - b * s[i]
                        head[i + half] = b * c[i] + a * s[i]
                    }
                }
            }
        }
    }
}

/// Causal grouped-query attention of `tokens` new queries, at positions past ..< past + tokens,
/// against the keys and values of positions 0 ..< past + tokens (a decoder's cache, the new
/// positions included), scaled by 1/√headDim.
///
/// - queries: row t at `queries + t·queryStride`, `heads` heads of `headDim` side by side.
/// - keys, values: row p at `+ p·kvStride`, `kvHeads` heads; query head h reads key/value head
///   h / (heads / kvHeads), as LLaMA's repeat_kv pairs them, without repeating anything.
/// Returns [tokens, heads·headDim].
public func causalGroupedQueryAttention(queries: UnsafePointer<Float>, queryStride: Int, tokens: Int, heads: Int,
                                        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvStride: Int,
                                        kvHeads: Int, headDim: Int, past: Int) -> Tensor {
    precondition(heads % kvHeads == 0, "causalGroupedQueryAttention: \(heads) heads over \(kvHeads) key/value heads")
    let cache = { (base: UnsafePointer<Float>) in
        MatrixView(base, rows: past + tokens, columns: kvHeads * headDim, stride: kvStride)
    }
    return attention(q: MatrixView(queries, rows: tokens, columns: heads * headDim, stride: queryStride),
                     k: cache(keys), v: cache(values), heads: heads, kvHeads: kvHeads, scale: nil,
                     visibility: .causal(past: past), logitBias: nil)
}

/// RoPE inverse frequencies 1 / theta^(2i/d), computed in float32 as the reference does.
public func ropeInverseFrequencies(headDim: Int, theta: Float) -> [Float] {
    (0..<(headDim / 2)).map { 1 / powf(theta, Float(2 * $0) / Float(headDim)) }
}

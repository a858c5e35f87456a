import Checkpoints
import TensorMath

/// One pre-LayerNorm SigLIP encoder layer: bidirectional attention with biases, tanh-GELU MLP.
struct SigLIPLayer {
    let norm1: LayerNorm, norm2: LayerNorm
    let q: Projection, k: Projection, v: Projection, out: Projection
    let fc1: Projection, fc2: Projection
    let heads: Int

    init(_ w: WeightReader, config: VisionConfig) throws {
        let d = config.hiddenSize, m = config.intermediateSize
        norm1 = try LayerNorm(w.scoped("layer_norm1"), width: d, eps: config.layerNormEps)
        norm2 = try LayerNorm(w.scoped("layer_norm2"), width: d, eps: config.layerNormEps)
        q = try Projection(w.scoped("self_attn.q_proj"), shape: [d, d])
        k = try Projection(w.scoped("self_attn.k_proj"), shape: [d, d])
        v = try Projection(w.scoped("self_attn.v_proj"), shape: [d, d])
        out = try Projection(w.scoped("self_attn.out_proj"), shape: [d, d])
        fc1 = try Projection(w.scoped("mlp.fc1"), shape: [m, d])
        fc2 = try Projection(w.scoped("mlp.fc2"), shape: [d, m])
        heads = config.heads
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = norm1(x)
        var y = x
        addInPlace(&y, out(multiHeadAttention(q: q(h), k: k(h), v: v(h), heads: heads)))
        var hidden = fc1(norm2(y))
        geluTanhInPlace(&hidden)
        addInPlace(&y, fc2(hidden))
        return y
    }
}

/// A linear layer with a bias whose weight stays in the checkpoint's precision.
struct Projection {
    let weight: MatrixWeights
    let bias: Tensor

    init(_ w: WeightReader, shape: [Int]) throws {
        weight = try w.matrix("weight", shape: shape)
        bias = try w("bias", shape: [shape[0]])
    }

    func callAsFunction(_ x: Tensor) -> Tensor { weight.apply(to: x, bias: bias) }
}

/// The SigLIP vision tower of Idefics3: 16x16 patches of a 512x512 tile → [1024, D] features.
public struct SigLIPVisionEncoder {
    public let config: VisionConfig
    let patchWeight: Tensor, patchBias: Tensor
    let positions: Tensor
    let layers: [SigLIPLayer]
    let postNorm: LayerNorm

    init(_ w: WeightReader, config: VisionConfig) throws {
        self.config = config
        let d = config.hiddenSize, p = config.patchSize
        patchWeight = try w("embeddings.patch_embedding.weight", shape: [d, 3, p, p])
        patchBias = try w("embeddings.patch_embedding.bias", shape: [d])
        let count = config.patchesPerSide * config.patchesPerSide
        positions = try w("embeddings.position_embedding.weight", shape: [count, d])
        layers = try (0..<config.layers).map { try SigLIPLayer(w.scoped("encoder.layers.\($0)"), config: config) }
        postNorm = try LayerNorm(w.scoped("post_layernorm"), width: d, eps: config.layerNormEps)
    }

    /// One full tile [3, 512, 512] → [1024, D]. Every patch of a full tile is valid, so its
    /// position id is simply its raster index.
    public func callAsFunction(_ tile: Tensor, trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        let d = config.hiddenSize, n = config.patchesPerSide * config.patchesPerSide
        let patches = conv2d(tile, weight: patchWeight, bias: patchBias, stride: config.patchSize)
        var x = transpose2D(patches.reshaped([d, n]))
        addInPlace(&x, positions)
        trace?("vision_embeddings", x)
        for (i, layer) in layers.enumerated() {
            x = layer(x)
            trace?("vision_layer_\(i)", x)
        }
        return postNorm(x)
    }
}

/// Idefics3's connector: pixel shuffle by `scale` (merging scale×scale neighbouring patches into
/// one token) then a bias-free projection to the text width.
public struct PixelShuffleConnector {
    let projection: MatrixWeights
    let scale: Int

    init(_ w: WeightReader, scale: Int, visionWidth: Int, textWidth: Int) throws {
        projection = try w.scoped("modality_projection.proj").matrix("weight", shape: [textWidth, visionWidth * scale * scale])
        self.scale = scale
    }

    /// [side·side, D] → [(side/s)², s²·D]: out[i·(side/s)+j, (dh·s+dw)·D + c] = x[(s·i+dh)·side + s·j+dw, c].
    public func pixelShuffle(_ x: Tensor) -> Tensor {
        let d = x.shape[1], side = Int(Double(x.shape[0]).squareRoot()), s = scale, outSide = side / s
        return Tensor(shape: [outSide * outSide, s * s * d]) { out in
            x.data.withUnsafeBufferPointer { src in
                for i in 0..<outSide {
                    for j in 0..<outSide {
                        let row = out.baseAddress! + (i * outSide + j) * s * s * d
                        for dh in 0..<s {
                            for dw in 0..<s {
                                let patch = (s * i + dh) * side + s * j + dw
                                (row + (dh * s + dw) * d).update(from: src.baseAddress! + patch * d, count: d)
                            }
                        }
                    }
                }
            }
        }
    }

    public func callAsFunction(_ x: Tensor, trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        let shuffled = pixelShuffle(x)
        trace?("pixel_shuffle_output", shuffled)
        return projection.apply(to: shuffled)
    }
}

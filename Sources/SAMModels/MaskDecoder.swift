import Checkpoints
import TensorMath

/// Attention with projections to an internal width (downsampled for the cross attentions).
///
/// The cross attentions pair about ten prompt tokens with 4096 image tokens. The first block's
/// image side does not depend on the prompt, so its projections are made once per image. Later
/// blocks, instead of projecting the image tokens and running per-head products of skinny
/// shapes, fold the image side's projections into the token side, which is exact up to
/// rounding. For head h:
/// q·(W_k x + b_k) = (q W_k)·x + q·b_k, whose last term is the same for every key and cancels in
/// the softmax; Σ_j p_j (W_v x_j + b_v) = W_v (Σ_j p_j x_j) + b_v, as the weights sum to 1; and
/// the other way round, (W_q x + b_q)·k = x·(W_qᵀ k) + b_q·k and out = Σ_h P_h (V_h W_o,hᵀ) + b_o.
/// Each direction then costs two full-width products with the image tokens.
struct DecoderAttention {
    let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear
    let heads: Int

    /// `inner`: the width the projections map to (the model width, or half of it in the cross attentions).
    init(_ w: WeightReader, heads: Int, inner: Int) throws {
        let width = MaskDecoder.width
        qProj = try Linear(w.scoped("q_proj"), shape: [inner, width])
        kProj = try Linear(w.scoped("k_proj"), shape: [inner, width])
        vProj = try Linear(w.scoped("v_proj"), shape: [inner, width])
        outProj = try Linear(w.scoped("out_proj"), shape: [width, inner])
        self.heads = heads
    }

    private var headWidth: Int { qProj.outFeatures / heads }
    private var scale: Float { 1 / Float(headWidth).squareRoot() }

    /// Attention among the prompt tokens.
    func callAsFunction(q: Tensor, k: Tensor, v: Tensor) -> Tensor {
        outProj(multiHeadAttention(q: qProj(q), k: kProj(k), v: vProj(v), heads: heads))
    }

    /// Prompt tokens [T, C] attending to image tokens projected beforehand, [N, inner] each.
    func tokensToImage(queries: Tensor, projectedKeys: Tensor, projectedValues: Tensor) -> Tensor {
        outProj(multiHeadAttention(q: qProj(queries), k: projectedKeys, v: projectedValues, heads: heads))
    }

    /// Prompt tokens [T, C] attending to image tokens: `keys` and `values` are [N, C], unprojected.
    func tokensToImage(queries: Tensor, keys: Tensor, values: Tensor) -> Tensor {
        let tokens = queries.shape[0], width = keys.shape[1], d = headWidth, inner = heads * d
        // Row (h, i): query i of head h carried back through head h's key projection (scaled).
        let foldedQueries = foldedThroughHeads(qProj(queries), kProj)
        var weights = matmul(foldedQueries, keys, transB: true)
        weights.data.withUnsafeMutableBufferPointer {
            softmaxRows($0.baseAddress!, rows: heads * tokens, cols: keys.shape[0], stride: keys.shape[0])
        }
        // Row (h, i): the image tokens mixed by head h's weights for query i, then through
        // head h's value projection.
        let mixed = matmul(weights, values)
        var attended = Tensor(shape: [tokens, inner]) { out in
            mixed.data.withUnsafeBufferPointer { pm in
                vProj.weight.data.withUnsafeBufferPointer { wv in
                    for h in 0..<heads {
                        gemm(transB: true, m: tokens, n: d, k: width, a: pm.baseAddress! + h * tokens * width, lda: width,
                             b: wv.baseAddress! + h * d * width, ldb: width, c: out.baseAddress! + h * d, ldc: inner)
                    }
                }
            }
        }
        if let bias = vProj.bias { addInPlace(&attended, bias) }
        return outProj(attended)
    }

    /// Image tokens [N, C] attending to the prompt tokens: `keys` and `values` are [T, C].
    func imageToTokens(queries: Tensor, keys: Tensor, values: Tensor) -> Tensor {
        let tokens = keys.shape[0], d = headWidth, inner = heads * d
        let k = kProj(keys)
        // Row (h, j): key j of head h carried back through head h's query projection (scaled),
        // and its logit against the query bias, which every image token adds.
        let foldedKeys = foldedThroughHeads(k, qProj)
        let biasLogits = Tensor(shape: [heads * tokens]) { out in
            for h in 0..<heads {
                for j in 0..<tokens {
                    var dot: Float = 0
                    for c in 0..<d { dot += (qProj.bias?.data[h * d + c] ?? 0) * k.data[j * inner + h * d + c] }
                    out[h * tokens + j] = scale * dot
                }
            }
        }
        return mixTokenValues(logits: linear(queries, weight: foldedKeys, bias: biasLogits), values: values)
    }

    /// Image tokens attending to the prompt tokens [T, C], with the image side's queries
    /// projected beforehand, [N, inner].
    func imageToTokens(projectedQueries: Tensor, keys: Tensor, values: Tensor) -> Tensor {
        let tokens = keys.shape[0], d = headWidth, inner = heads * d
        let k = kProj(keys)
        // [inner, heads·T], block diagonal: head h's keys (scaled) in rows h·d..<(h+1)·d and
        // columns h·T..<(h+1)·T, so one product gives every head's logits side by side.
        var blocks = Tensor(zeros: [inner, heads * tokens])
        blocks.data.withUnsafeMutableBufferPointer { out in
            for h in 0..<heads {
                for j in 0..<tokens {
                    for c in 0..<d { out[(h * d + c) * heads * tokens + h * tokens + j] = scale * k.data[j * inner + h * d + c] }
                }
            }
        }
        return mixTokenValues(logits: matmul(projectedQueries, blocks), values: values)
    }

    /// [heads·T, C]: row (h, i) is scale · (head h's slice of row i of `projected` [T, inner])
    /// times head h's rows of `projection`'s weight, i.e. that row carried back to the model width.
    private func foldedThroughHeads(_ projected: Tensor, _ projection: Linear) -> Tensor {
        let tokens = projected.shape[0], width = projection.inFeatures, d = headWidth, inner = heads * d
        return Tensor(shape: [heads * tokens, width]) { out in
            projected.data.withUnsafeBufferPointer { p in
                projection.weight.data.withUnsafeBufferPointer { w in
                    for h in 0..<heads {
                        gemm(m: tokens, n: width, k: d, alpha: scale, a: p.baseAddress! + h * d, lda: inner,
                             b: w.baseAddress! + h * d * width, ldb: width,
                             c: out.baseAddress! + h * tokens * width, ldc: width)
                    }
                }
            }
        }
    }

    /// Σ_h softmax(logits_h) V_h W_o,hᵀ + b_o from [N, heads·T] logits (one softmax per image
    /// token and head, over T contiguous logits) and the unprojected token values [T, C].
    private func mixTokenValues(logits: Tensor, values: Tensor) -> Tensor {
        let tokens = values.shape[0], d = headWidth, inner = heads * d
        let v = vProj(values)
        var weights = logits
        weights.data.withUnsafeMutableBufferPointer {
            softmaxRows($0.baseAddress!, rows: $0.count / tokens, cols: tokens, stride: tokens)
        }
        let outWidth = outProj.outFeatures
        // Column (h, j): value j of head h through head h's slice of the output projection.
        let foldedValues = Tensor(shape: [outWidth, heads * tokens]) { out in
            v.data.withUnsafeBufferPointer { pv in
                outProj.weight.data.withUnsafeBufferPointer { wo in
                    for h in 0..<heads {
                        gemm(transB: true, m: outWidth, n: tokens, k: d, a: wo.baseAddress! + h * d, lda: inner,
                             b: pv.baseAddress! + h * d, ldb: inner, c: out.baseAddress! + h * tokens, ldc: heads * tokens)
                    }
                }
            }
        }
        return linear(weights, weight: foldedValues, bias: outProj.bias)
    }
}

/// One block of the two-way transformer: tokens attend to themselves and to the image, and the
/// image attends back to the tokens.
struct TwoWayBlock {
    let family: ModelFamily
    let selfAttention: DecoderAttention
    let tokenToImage: DecoderAttention
    let imageToToken: DecoderAttention
    let norm1: LayerNorm, norm2: LayerNorm, norm3: LayerNorm, norm4: LayerNorm
    let mlp: MLP
    let skipFirstLayerPE: Bool

    init(_ w: WeightReader, family: ModelFamily, heads: Int, first: Bool) throws {
        self.family = family
        let width = MaskDecoder.width, hidden = MaskDecoder.mlpWidth
        selfAttention = try DecoderAttention(w.scoped("self_attn"), heads: heads, inner: width)
        tokenToImage = try DecoderAttention(w.scoped("cross_attn_token_to_image"), heads: heads, inner: MaskDecoder.crossAttentionWidth)
        imageToToken = try DecoderAttention(w.scoped("cross_attn_image_to_token"), heads: heads, inner: MaskDecoder.crossAttentionWidth)
        norm1 = try LayerNorm(w.scoped("norm1"), width: width, eps: 1e-5)
        norm2 = try LayerNorm(w.scoped("norm2"), width: width, eps: 1e-5)
        norm3 = try LayerNorm(w.scoped("norm3"), width: width, eps: 1e-5)
        norm4 = try LayerNorm(w.scoped("norm4"), width: width, eps: 1e-5)
        let names = family == .sam ? ("mlp.lin1", "mlp.lin2") : ("mlp.layers.0.0", "mlp.fc")
        mlp = MLP(layers: [try Linear(w.scoped(names.0), shape: [hidden, width]), try Linear(w.scoped(names.1), shape: [width, hidden])],
                  activation: family == .sam ? .relu : .gelu)
        skipFirstLayerPE = first
    }

    /// `prepared` holds this block's image-side projections when no prompt can change them
    /// (the first block's, made once per image).
    func callAsFunction(queries: inout Tensor, keys: inout Tensor, queryPE: Tensor, keyPE: Tensor,
                        prepared: ImageProjections? = nil) {
        switch (family, skipFirstLayerPE) {
        case (.sam, true):
            // SAM's first layer replaces the queries with the attention output.
            queries = selfAttention(q: queries, k: queries, v: queries)
        case (.efficientSAM, true):
            queries = queries + selfAttention(q: queries, k: queries, v: queries)
        case (.sam, false):
            let q = queries + queryPE
            addInPlace(&queries, selfAttention(q: q, k: q, v: queries))
        case (.efficientSAM, false):
            // EfficientSAM adds the PE to the queries themselves, which then also serve as values.
            addInPlace(&queries, queryPE)
            addInPlace(&queries, selfAttention(q: queries, k: queries, v: queries))
        }
        queries = norm1(queries)

        // Without prepared projections, the image side enters the folded products with positions.
        enum ImageSide { case projected(ImageProjections), withPositions(Tensor) }
        let image: ImageSide = prepared.map { .projected($0) } ?? .withPositions(keys + keyPE)

        let tokenQueries = queries + queryPE
        switch image {
        case .projected(let projections):
            addInPlace(&queries, tokenToImage.tokensToImage(queries: tokenQueries, projectedKeys: projections.tokenToImageKeys,
                                                           projectedValues: projections.tokenToImageValues))
        case .withPositions(let keysWithPE):
            addInPlace(&queries, tokenToImage.tokensToImage(queries: tokenQueries, keys: keysWithPE, values: keys))
        }
        queries = norm2(queries)

        addInPlace(&queries, mlp(queries))
        queries = norm3(queries)

        let tokenKeys = queries + queryPE
        let update: Tensor
        switch image {
        case .projected(let projections):
            update = imageToToken.imageToTokens(projectedQueries: projections.imageToTokenQueries, keys: tokenKeys,
                                                values: queries)
        case .withPositions(let keysWithPE):
            update = imageToToken.imageToTokens(queries: keysWithPE, keys: tokenKeys, values: queries)
        }
        // Out of place: the first block's keys are shared with the prepared image.
        keys = norm4(keys, adding: update)
    }

    /// This block's image-side projections of `keys` (plus `keyPE` where the block adds it).
    func imageProjections(keys: Tensor, keyPE: Tensor) -> ImageProjections {
        let keysWithPE = keys + keyPE
        return ImageProjections(tokenToImageKeys: tokenToImage.kProj(keysWithPE), tokenToImageValues: tokenToImage.vProj(keys),
                                imageToTokenQueries: imageToToken.qProj(keysWithPE))
    }
}

/// A block's projections of the image tokens, [N, inner] each.
struct ImageProjections: Sendable {
    let tokenToImageKeys: Tensor, tokenToImageValues: Tensor
    let imageToTokenQueries: Tensor
}

/// The output of the mask decoder for one prompt set.
public struct DecoderOutput: Sendable {
    /// [C, 256, 256] mask logits (C = 3 multimask, 1 single).
    public var lowResLogits: Tensor
    /// [C] predicted IoU.
    public var iouPredictions: [Float]
}

/// The decoder's image-side input, prepared once per image and reused for every prompt set
/// (SamPredictor's `set_image`): the image tokens token-major, their positions, and the first
/// block's projections of them.
struct DecoderImage: Sendable {
    /// [64·64, 256] image embedding, plus the dense prompt embedding (SAM).
    let keys: Tensor
    /// [64·64, 256] dense positional encoding.
    let keyPE: Tensor
    let firstBlock: ImageProjections
    /// Side of the square token grid (64).
    let side: Int
}

/// Two-way transformer and mask head shared by SAM and EfficientSAM, with their differences:
/// EfficientSAM's first-layer residual and in-place PE, GELU MLPs, and a GroupNorm upscaler.
public struct MaskDecoder {
    let family: ModelFamily
    let blocks: [TwoWayBlock]
    let finalAttention: DecoderAttention
    let finalNorm: LayerNorm
    let iouToken: Tensor, maskTokens: Tensor
    let upscale1: SubPixelConvTranspose2x2, upscaleNorm: LayerNorm, upscale2: SubPixelConvTranspose2x2
    let hypernetworks: [MLP]
    let iouHead: MLP
    public var maskTokenCount: Int { Self.maskTokenCount }

    /// The sizes both references build their decoders with.
    static let width = 256, mlpWidth = 2048, crossAttentionWidth = 128, heads = 8, maskTokenCount = 4

    init(_ w: WeightReader, family: ModelFamily) throws {
        self.family = family
        let width = Self.width, heads = Self.heads
        let t = w.scoped("transformer")
        let depth = try t.numberedChildCount("layers")
        guard depth > 0 else {
            throw CheckpointError(path: w.stateDict.source, kind: .missingTensor, tensor: t.prefix + "layers.0",
                                  problem: "no mask decoder transformer layers found")
        }
        blocks = try (0..<depth).map { try TwoWayBlock(t.scoped("layers.\($0)"), family: family, heads: heads, first: $0 == 0) }
        finalAttention = try DecoderAttention(t.scoped("final_attn_token_to_image"), heads: heads, inner: Self.crossAttentionWidth)
        finalNorm = try LayerNorm(t.scoped("norm_final_attn"), width: width, eps: 1e-5)
        iouToken = try w("iou_token.weight", shape: [1, width])
        maskTokens = try w("mask_tokens.weight", shape: [Self.maskTokenCount, width])

        let hiddenNames: (String) -> [String]
        switch family {
        case .sam:
            upscale1 = SubPixelConvTranspose2x2(weight: try w("output_upscaling.0.weight", shape: [256, 64, 2, 2]),
                                                bias: try w("output_upscaling.0.bias", shape: [64]))
            upscaleNorm = try LayerNorm(w.scoped("output_upscaling.1"), width: 64, eps: 1e-6)
            upscale2 = SubPixelConvTranspose2x2(weight: try w("output_upscaling.3.weight", shape: [64, 32, 2, 2]),
                                                bias: try w("output_upscaling.3.bias", shape: [32]))
            hiddenNames = { ["\($0).layers.0", "\($0).layers.1", "\($0).layers.2"] }
        case .efficientSAM:
            upscale1 = SubPixelConvTranspose2x2(weight: try w("final_output_upscaling_layers.0.0.weight", shape: [256, 64, 2, 2]),
                                                bias: try w("final_output_upscaling_layers.0.0.bias", shape: [64]))
            upscaleNorm = try LayerNorm(w.scoped("final_output_upscaling_layers.0.1"), width: 64, eps: 1e-5)
            upscale2 = SubPixelConvTranspose2x2(weight: try w("final_output_upscaling_layers.1.0.weight", shape: [64, 32, 2, 2]),
                                                bias: try w("final_output_upscaling_layers.1.0.bias", shape: [32]))
            hiddenNames = { ["\($0).layers.0.0", "\($0).layers.1.0", "\($0).fc"] }
        }
        let activation: MLP.Activation = family == .sam ? .relu : .gelu
        // Two hidden layers of the model width, then the output layer.
        let mlp = { (name: String, outputs: Int) throws -> MLP in
            let shapes = [[width, width], [width, width], [outputs, width]]
            return MLP(layers: try zip(hiddenNames(name), shapes).map { try Linear(w.scoped($0), shape: $1) }, activation: activation)
        }
        hypernetworks = try (0..<Self.maskTokenCount).map { try mlp("output_hypernetworks_mlps.\($0)", width / 8) }
        iouHead = try mlp("iou_prediction_head", Self.maskTokenCount)
    }

    /// Token-major image tokens for `imageEmbedding` [256, 64, 64] (plus SAM's `dense` prompt
    /// embedding) and the first block's projections of them; `keyPE` is the dense PE as [64·64, 256].
    func prepareImage(imageEmbedding: Tensor, dense: Tensor?, keyPE: Tensor) -> DecoderImage {
        let dim = imageEmbedding.shape[0], side = imageEmbedding.shape[1]
        var source = imageEmbedding
        if let dense { addInPlace(&source, dense) }
        let keys = transpose2D(source.reshaped([dim, side * side]))
        let firstBlock = blocks[0].imageProjections(keys: keys, keyPE: keyPE)
        return DecoderImage(keys: keys, keyPE: keyPE, firstBlock: firstBlock, side: side)
    }

    /// Predicts masks for one prompt set.
    /// - imageEmbedding: [256, 64, 64]; dense: SAM's dense prompt embedding (added to it);
    ///   imagePE: the dense positional encoding; sparse: [T, 256] prompt tokens.
    public func callAsFunction(imageEmbedding: Tensor, imagePE: Tensor, sparse: Tensor, dense: Tensor?,
                               multimask: Bool) -> DecoderOutput {
        let keyPE = transpose2D(imagePE.reshaped([imagePE.shape[0], imagePE.count / imagePE.shape[0]]))
        return self(image: prepareImage(imageEmbedding: imageEmbedding, dense: dense, keyPE: keyPE),
                    sparse: sparse, multimask: multimask)
    }

    /// Predicts masks for one prompt set against a prepared image; sparse: [T, 256] prompt tokens.
    func callAsFunction(image: DecoderImage, sparse: Tensor, multimask: Bool) -> DecoderOutput {
        let dim = 256, side = image.side
        let tokens = Tensor(shape: [1 + maskTokenCount + sparse.shape[0], dim],
                            data: iouToken.data + maskTokens.data + sparse.data)
        var keys = image.keys
        let keyPE = image.keyPE
        var queries = tokens
        for (i, block) in blocks.enumerated() {
            block(queries: &queries, keys: &keys, queryPE: tokens, keyPE: keyPE, prepared: i == 0 ? image.firstBlock : nil)
        }
        // Only the IoU and mask tokens are read from here on, so only they attend to the image.
        let outputTokens = 1 + maskTokenCount
        let firstRows = { (x: Tensor) in Tensor(shape: [outputTokens, dim], data: Array(x.data[0 ..< outputTokens * dim])) }
        var outputQueries = firstRows(queries)
        addInPlace(&outputQueries, finalAttention.tokensToImage(queries: outputQueries + firstRows(tokens), keys: keys + keyPE,
                                                                values: keys))
        outputQueries = finalNorm(outputQueries)

        // Upscale the image tokens to 256x256 as sub-grids (see SubPixelConvTranspose2x2), and
        // project each mask token onto the features with the last GELU and bias folded in.
        var upscaled = upscale1(keys, tokenMajor: true)
        switch family {
        case .sam:
            // Each sub-grid is a side×side map of its own.
            let shape = upscaled.shape
            upscaled = upscaleNorm.channels(upscaled.reshaped([shape[0], shape[1], side, side])).reshaped(shape)
        case .efficientSAM:
            upscaled = singleGroupNorm(upscaled, weight: upscaleNorm.weight, bias: upscaleNorm.bias, eps: upscaleNorm.eps)
        }
        geluInPlace(&upscaled)
        upscaled = upscale2(upscaled, addBias: false)

        let outputs = multimask ? Array(1..<maskTokenCount) : [0]
        var hyper: [Float] = []
        for i in outputs { hyper += hypernetworks[i](outputQueries[1 + i].reshaped([1, dim])).data }
        let subGridLogits = projectGELU(upscaled, bias: upscale2.bias,
                                        weight: Tensor(shape: [outputs.count, upscale2.outChannels], data: hyper))
        let logits = rasterOrder(subGridLogits, planes: outputs.count, side: side)
        let iou = iouHead(outputQueries[0].reshaped([1, dim])).data
        return DecoderOutput(lowResLogits: logits, iouPredictions: outputs.map { iou[$0] })
    }
}

/// [planes, 4·side, 4·side] from logits on the 16 sub-grids of two chained sub-pixel layers,
/// [16, planes, side·side]: pixel (4i + 2a + a′, 4j + 2b + b′) is pixel (i, j) of sub-grid
/// 4(2a + b) + 2a′ + b′.
private func rasterOrder(_ subGrids: Tensor, planes: Int, side: Int) -> Tensor {
    let outSide = 4 * side, plane = side * side
    return Tensor(shape: [planes, outSide, outSide]) { out in
        subGrids.data.withUnsafeBufferPointer { source in
            for m in 0..<planes {
                for y in 0..<outSide {
                    let i = y / 4, a = y / 2 % 2, a2 = y % 2
                    let target = out.baseAddress! + (m * outSide + y) * outSide
                    for b in 0..<2 {
                        for b2 in 0..<2 {
                            let grid = 4 * (2 * a + b) + 2 * a2 + b2
                            let row = source.baseAddress! + (grid * planes + m) * plane + i * side
                            for j in 0..<side { target[4 * j + 2 * b + b2] = row[j] }
                        }
                    }
                }
            }
        }
    }
}

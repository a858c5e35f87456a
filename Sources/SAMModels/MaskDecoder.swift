import Checkpoints
import TensorMath

/// Attention with projections to an internal width (downsampled for the cross attentions).
struct DecoderAttention {
    let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear
    let heads: Int

    init(_ w: WeightReader, heads: Int) throws {
        qProj = try Linear(w.scoped("q_proj"))
        kProj = try Linear(w.scoped("k_proj"))
        vProj = try Linear(w.scoped("v_proj"))
        outProj = try Linear(w.scoped("out_proj"))
        self.heads = heads
    }

    func callAsFunction(q: Tensor, k: Tensor, v: Tensor) -> Tensor {
        attend(projectedQ: qProj(q), projectedK: kProj(k), projectedV: vProj(v))
    }

    /// The attention on inputs already through their projections.
    func attend(projectedQ: Tensor, projectedK: Tensor, projectedV: Tensor) -> Tensor {
        outProj(multiHeadAttention(q: projectedQ, k: projectedK, v: projectedV, heads: heads))
    }
}

/// A block's projections of the image tokens, which depend on the image but not on the prompt.
struct ImageProjections {
    /// Keys and values of the token-to-image attention, queries of the image-to-token attention.
    let crossKeys: Tensor, crossValues: Tensor, imageQueries: Tensor
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
        selfAttention = try DecoderAttention(w.scoped("self_attn"), heads: heads)
        tokenToImage = try DecoderAttention(w.scoped("cross_attn_token_to_image"), heads: heads)
        imageToToken = try DecoderAttention(w.scoped("cross_attn_image_to_token"), heads: heads)
        norm1 = try LayerNorm(w.scoped("norm1"), eps: 1e-5)
        norm2 = try LayerNorm(w.scoped("norm2"), eps: 1e-5)
        norm3 = try LayerNorm(w.scoped("norm3"), eps: 1e-5)
        norm4 = try LayerNorm(w.scoped("norm4"), eps: 1e-5)
        switch family {
        case .sam:
            mlp = MLP(layers: [try Linear(w.scoped("mlp.lin1")), try Linear(w.scoped("mlp.lin2"))], activation: .relu)
        case .efficientSAM:
            mlp = MLP(layers: [try Linear(w.scoped("mlp.layers.0.0")), try Linear(w.scoped("mlp.fc"))], activation: .gelu)
        }
        skipFirstLayerPE = first
    }

    func projections(keys: Tensor, keysWithPE: Tensor) -> ImageProjections {
        ImageProjections(crossKeys: tokenToImage.kProj(keysWithPE), crossValues: tokenToImage.vProj(keys),
                         imageQueries: imageToToken.qProj(keysWithPE))
    }

    /// `image`, when given, holds `projections` of the incoming keys (the first block's are
    /// computed once per image).
    func callAsFunction(queries: inout Tensor, keys: inout Tensor, queryPE: Tensor, keyPE: Tensor,
                        image: ImageProjections? = nil) {
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

        let image = image ?? projections(keys: keys, keysWithPE: keys + keyPE)
        addInPlace(&queries, tokenToImage.attend(projectedQ: tokenToImage.qProj(queries + queryPE),
                                                 projectedK: image.crossKeys, projectedV: image.crossValues))
        queries = norm2(queries)

        addInPlace(&queries, mlp(queries))
        queries = norm3(queries)

        let tokensWithPE = queries + queryPE
        addInPlace(&keys, imageToToken.attend(projectedQ: image.imageQueries, projectedK: imageToToken.kProj(tokensWithPE),
                                              projectedV: imageToToken.vProj(queries)))
        keys = norm4(keys)
    }
}

/// The output of the mask decoder for one prompt set.
public struct DecoderOutput: Sendable {
    /// [C, 256, 256] mask logits (C = 3 multimask, 1 single).
    public var lowResLogits: Tensor
    /// [C] predicted IoU.
    public var iouPredictions: [Float]
}

/// The decoder's image-side input, prepared once per image and reused for every prompt set
/// (SamPredictor's `set_image`): the image tokens and the first block's projections of them.
public struct DecoderImage: Sendable {
    /// [64·64, 256] token-major image embedding, plus the dense prompt embedding (SAM).
    let keys: Tensor
    /// [64·64, 256] token-major dense positional encoding.
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
    let upscale1: (Tensor, Tensor), upscaleNorm: LayerNorm, upscale2: (Tensor, Tensor)
    let hypernetworks: [MLP]
    let iouHead: MLP
    public let maskTokenCount: Int

    init(_ w: WeightReader, family: ModelFamily) throws {
        self.family = family
        let heads = 8
        let t = w.scoped("transformer")
        var layers: [TwoWayBlock] = []
        while t.contains("layers.\(layers.count).norm1.weight") {
            layers.append(try TwoWayBlock(t.scoped("layers.\(layers.count)"), family: family, heads: heads,
                                          first: layers.isEmpty))
        }
        guard !layers.isEmpty else {
            throw CheckpointError(path: w.stateDict.source, problem: "no mask decoder transformer layers found")
        }
        blocks = layers
        finalAttention = try DecoderAttention(t.scoped("final_attn_token_to_image"), heads: heads)
        finalNorm = try LayerNorm(t.scoped("norm_final_attn"), eps: 1e-5)
        iouToken = try w("iou_token.weight", shape: [1, 256])
        maskTokens = try w("mask_tokens.weight")
        maskTokenCount = maskTokens.shape[0]

        let hiddenNames: (String) -> [String]
        switch family {
        case .sam:
            upscale1 = (try w("output_upscaling.0.weight", shape: [256, 64, 2, 2]), try w("output_upscaling.0.bias", shape: [64]))
            upscaleNorm = try LayerNorm(w.scoped("output_upscaling.1"), eps: 1e-6)
            upscale2 = (try w("output_upscaling.3.weight", shape: [64, 32, 2, 2]), try w("output_upscaling.3.bias", shape: [32]))
            hiddenNames = { ["\($0).layers.0", "\($0).layers.1", "\($0).layers.2"] }
        case .efficientSAM:
            upscale1 = (try w("final_output_upscaling_layers.0.0.weight", shape: [256, 64, 2, 2]),
                        try w("final_output_upscaling_layers.0.0.bias", shape: [64]))
            upscaleNorm = try LayerNorm(w.scoped("final_output_upscaling_layers.0.1"), eps: 1e-5)
            upscale2 = (try w("final_output_upscaling_layers.1.0.weight", shape: [64, 32, 2, 2]),
                        try w("final_output_upscaling_layers.1.0.bias", shape: [32]))
            hiddenNames = { ["\($0).layers.0.0", "\($0).layers.1.0", "\($0).fc"] }
        }
        let activation: MLP.Activation = family == .sam ? .relu : .gelu
        let mlp = { (name: String) throws -> MLP in
            MLP(layers: try hiddenNames(name).map { try Linear(w.scoped($0)) }, activation: activation)
        }
        hypernetworks = try (0..<maskTokenCount).map { try mlp("output_hypernetworks_mlps.\($0)") }
        iouHead = try mlp("iou_prediction_head")
    }

    /// Token-major image tokens and first-block projections for `imageEmbedding` [256, 64, 64]
    /// (plus SAM's `dense` prompt embedding); `keyPE` is the dense PE as [64·64, 256].
    func prepareImage(imageEmbedding: Tensor, dense: Tensor?, keyPE: Tensor) -> DecoderImage {
        let dim = imageEmbedding.shape[0], side = imageEmbedding.shape[1]
        var source = imageEmbedding
        if let dense { addInPlace(&source, dense) }
        let keys = transpose2D(source.reshaped([dim, side * side]))
        return DecoderImage(keys: keys, keyPE: keyPE, firstBlock: blocks[0].projections(keys: keys, keysWithPE: keys + keyPE),
                            side: side)
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
            block(queries: &queries, keys: &keys, queryPE: tokens, keyPE: keyPE, image: i == 0 ? image.firstBlock : nil)
        }
        addInPlace(&queries, finalAttention(q: queries + tokens, k: keys + keyPE, v: keys))
        queries = finalNorm(queries)

        // Upscale the image tokens to 256x256 and project each mask token onto them.
        var upscaled = convTranspose2x2(transpose2D(keys).reshaped([dim, side, side]),
                                        weight: upscale1.0, bias: upscale1.1)
        switch family {
        case .sam: upscaled = upscaleNorm.channels(upscaled)
        case .efficientSAM:
            upscaled = groupNorm(upscaled, groups: 1, weight: upscaleNorm.weight, bias: upscaleNorm.bias, eps: upscaleNorm.eps)
        }
        geluInPlace(&upscaled)
        upscaled = convTranspose2x2(upscaled, weight: upscale2.0, bias: upscale2.1)
        geluInPlace(&upscaled)
        let maskSide = upscaled.shape[1]

        let outputs = multimask ? Array(1..<maskTokenCount) : [0]
        var hyper: [Float] = []
        for i in outputs { hyper += hypernetworks[i](queries[1 + i].reshaped([1, dim])).data }
        let channels = upscaled.shape[0]
        let logits = matmul(Tensor(shape: [outputs.count, channels], data: hyper),
                            upscaled.reshaped([channels, maskSide * maskSide]))
        let iou = iouHead(queries[0].reshaped([1, dim])).data
        return DecoderOutput(lowResLogits: logits.reshaped([outputs.count, maskSide, maskSide]),
                             iouPredictions: outputs.map { iou[$0] })
    }
}

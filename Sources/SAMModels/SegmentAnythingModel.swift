import Checkpoints
import Foundation
import Geometry
import Imaging
import TensorMath

/// Image size bookkeeping shared by encoding and decoding.
public struct ImageGeometry: Sendable, Equatable {
    /// The photo as decoded.
    public var originalSize: ImageSize
    /// The resized content inside the square model input.
    public var inputSize: ImageSize
    /// Side of the square model input.
    public var modelInputSize: Int

    public init(originalSize: ImageSize, inputSize: ImageSize, modelInputSize: Int = 1024) {
        self.originalSize = originalSize
        self.inputSize = inputSize
        self.modelInputSize = modelInputSize
    }
}

/// A SAM-family model: image encoder, prompt encoder and mask decoder, with the family's
/// pre- and postprocessing conventions.
public struct SegmentAnythingModel {
    public let name: String
    public let family: ModelFamily
    public let encoder: ImageEncoder
    public let promptEncoder: PromptEncoder
    public let maskDecoder: MaskDecoder
    /// `get_dense_pe()`, computed once per model.
    public let densePE: Tensor
    /// `densePE` token-major, [64·64, 256], as the decoder consumes it.
    let densePETokens: Tensor

    /// Builds the model from a checkpoint whose tensors determine family and size. Loading is
    /// strict, as the references' `load_state_dict` is: every tensor the model needs must be
    /// present with its shape, and the checkpoint may hold no other tensor.
    public init(stateDict: StateDict) throws {
        let config = try Self.detectConfig(stateDict)
        family = config.family
        name = Self.name(for: config)
        let w = WeightReader(stateDict)
        encoder = try ImageEncoder(w.scoped("image_encoder"), config: config)
        promptEncoder = try PromptEncoder(w.scoped("prompt_encoder"), family: config.family)
        maskDecoder = try MaskDecoder(w.scoped("mask_decoder"), family: config.family)
        try w.requireEveryTensorUsed(by: "a \(name) model (\(config.depth) encoder blocks, \(maskDecoder.blocks.count) decoder layers)")
        densePE = promptEncoder.densePositionalEncoding()
        densePETokens = transpose2D(densePE.reshaped([densePE.shape[0], densePE.count / densePE.shape[0]]))
    }

    public init(checkpoint path: String) throws {
        try self.init(stateDict: try loadCheckpoint(path))
    }

    // MARK: Architecture detection

    /// Reads family and size off the tensors: EfficientSAM has a cls slot in `pos_embed` and no
    /// relative positions; SAM marks its global blocks by 127-row relative position tables.
    static func detectConfig(_ sd: StateDict) throws -> ImageEncoderConfig {
        let fail = { (why: String) in
            CheckpointError(path: sd.source, problem: "not a SAM or EfficientSAM checkpoint: \(why)")
        }
        guard let patch = sd.shape("image_encoder.patch_embed.proj.weight"), patch.count == 4,
              patch[1] == 3, patch[2] == 16, patch[3] == 16 else {
            throw fail("no 16x16 patch embedding 'image_encoder.patch_embed.proj.weight'")
        }
        guard let pos = sd.shape("image_encoder.pos_embed") else { throw fail("no 'image_encoder.pos_embed'") }
        guard sd.contains("mask_decoder.iou_token.weight") else { throw fail("no mask decoder") }
        let dim = patch[0]
        guard dim % 64 == 0 else { throw fail("embedding width \(dim) is not a multiple of the 64-wide heads") }
        // Counted from every block tensor (a gap is an error), not from one tensor per block,
        // which would make a block missing that tensor the end of the encoder.
        let depth = try WeightReader(sd).scoped("image_encoder").numberedChildCount("blocks")
        guard depth > 0 else { throw fail("no ViT blocks") }

        let family: ModelFamily = pos.count == 3 ? .efficientSAM : .sam
        var globalBlocks = Set<Int>()
        var window = 0
        if family == .sam {
            guard pos == [1, 64, 64, dim] else { throw fail("pos_embed shape \(pos) is not [1, 64, 64, \(dim)]") }
            for i in 0..<depth {
                let table = "image_encoder.blocks.\(i).attn.rel_pos_h"
                guard let rel = sd.shape(table), rel.count == 2 else {
                    throw CheckpointError(path: sd.source, kind: .missingTensor, tensor: table,
                                          problem: "SAM block \(i) has no relative position table '\(table)'")
                }
                let side = (rel[0] + 1) / 2
                if side == 64 { globalBlocks.insert(i) } else {
                    guard window == 0 || window == side else { throw fail("blocks use different window sizes") }
                    window = side
                }
            }
        } else {
            globalBlocks = Set(0..<depth)
        }
        let config = ImageEncoderConfig(family: family, embedDim: dim, depth: depth, heads: dim / 64,
                                        windowSize: window, globalBlocks: globalBlocks)
        try checkOfficialLayout(config, source: sd.source)
        return config
    }

    /// The published encoders by family and width. SAM checkpoints carry no config, so without
    /// this a checkpoint that lost its last blocks would load as a shorter model.
    static let officialLayouts: [ModelFamily: [Int: (depth: Int, globalBlocks: Set<Int>, window: Int)]] = [
        .sam: [768: (12, [2, 5, 8, 11], 14), 1024: (24, [5, 11, 17, 23], 14), 1280: (32, [7, 15, 23, 31], 14)],
        .efficientSAM: [192: (12, Set(0..<12), 0), 384: (12, Set(0..<12), 0)],
    ]

    /// A checkpoint with a published width must have that model's blocks; other widths are
    /// custom models (the parity bundles' reduced encoders) and are taken as they are.
    static func checkOfficialLayout(_ config: ImageEncoderConfig, source: String) throws {
        guard let official = officialLayouts[config.family]?[config.embedDim] else { return }
        let expected = ImageEncoderConfig(family: config.family, embedDim: config.embedDim, depth: official.depth,
                                          heads: config.heads, windowSize: official.window, globalBlocks: official.globalBlocks)
        guard config != expected else { return }
        func layout(_ c: ImageEncoderConfig) -> String {
            let global = c.globalBlocks.count == c.depth ? "all global" : "global attention in blocks \(c.globalBlocks.sorted())"
            return "\(c.depth) encoder blocks, \(global)" + (c.windowSize > 0 ? ", \(c.windowSize)x\(c.windowSize) windows" : "")
        }
        throw CheckpointError(path: source, problem: "width \(config.embedDim) is \(name(for: expected))'s, which has "
                              + "\(layout(expected)), but the checkpoint has \(layout(config)) (truncated or altered?)")
    }

    static func name(for config: ImageEncoderConfig) -> String {
        switch (config.family, config.embedDim, config.depth) {
        case (.efficientSAM, 192, 12): return "efficientsam_vitt"
        case (.efficientSAM, 384, 12): return "efficientsam_vits"
        case (.sam, 768, 12): return "sam_vit_b"
        case (.sam, 1024, 24): return "sam_vit_l"
        case (.sam, 1280, 32): return "sam_vit_h"
        default: return "\(config.family.rawValue)_custom_d\(config.embedDim)_l\(config.depth)"
        }
    }

    // MARK: Preprocessing

    public var resizeDescription: String {
        family == .sam ? "resize_longest_side_pil_bilinear" : "stretch_bilinear_torch"
    }
    public var pixelMean: [Float] {
        family == .sam ? [123.675, 116.28, 103.53] : [0.485, 0.456, 0.406]
    }
    public var pixelStd: [Float] {
        family == .sam ? [58.395, 57.12, 57.375] : [0.229, 0.224, 0.225]
    }
    public var pixelScale: String { family == .sam ? "0..255" : "0..1" }
    public var imageSize: Int { encoder.config.imageSize }
    /// Strictly greater (SAM) or greater-or-equal (EfficientSAM) than 0 makes a mask pixel.
    public var thresholdRule: String { family == .sam ? ">" : ">=" }

    /// The size of the content inside the model input for a photo of the given size.
    public func inputSize(forOriginal size: ImageSize) -> ImageSize {
        switch family {
        case .sam:
            // ResizeLongestSide: int(x·scale + 0.5) on each side.
            let scale = Double(imageSize) / Double(max(size.height, size.width))
            return ImageSize(height: Int(Double(size.height) * scale + 0.5), width: Int(Double(size.width) * scale + 0.5))
        case .efficientSAM:
            return ImageSize(height: imageSize, width: imageSize)
        }
    }

    /// The normalised, padded 3x1024x1024 model input and the geometry it implies.
    public func preprocess(_ image: RGBImage) -> (input: Tensor, geometry: ImageGeometry) {
        let original = ImageSize(height: image.height, width: image.width)
        let content = inputSize(forOriginal: original)
        let side = imageSize
        let mean = pixelMean, std = pixelStd
        switch family {
        case .sam:
            let resized = (content.height == image.height && content.width == image.width)
                ? image : resizePILBilinear(image, width: content.width, height: content.height)
            let plane = side * side
            let input = Tensor(shape: [3, side, side]) { out in
                out.update(repeating: 0)
                resized.pixels.withUnsafeBufferPointer { px in
                    for c in 0..<3 {
                        for y in 0..<content.height {
                            let row = out.baseAddress! + c * plane + y * side
                            for x in 0..<content.width {
                                row[x] = (Float(px[(y * content.width + x) * 3 + c]) - mean[c]) / std[c]
                            }
                        }
                    }
                }
            }
            return (input, ImageGeometry(originalSize: original, inputSize: content, modelInputSize: side))
        case .efficientSAM:
            let h = image.height, w = image.width
            var chw = Tensor(shape: [3, h, w]) { out in
                image.pixels.withUnsafeBufferPointer { px in
                    for c in 0..<3 {
                        for i in 0..<(h * w) { out[c * h * w + i] = Float(px[i * 3 + c]) / 255 }
                    }
                }
            }
            if h != side || w != side { chw = resizeBilinear(chw, height: side, width: side) }
            chw.data.withUnsafeMutableBufferPointer { p in
                for c in 0..<3 {
                    for i in 0..<(side * side) { p[c * side * side + i] = (p[c * side * side + i] - mean[c]) / std[c] }
                }
            }
            return (chw, ImageGeometry(originalSize: original, inputSize: content, modelInputSize: side))
        }
    }

    /// Encodes a photo: the 256x64x64 image embedding and its geometry.
    public func encode(_ image: RGBImage, trace: ((String, Tensor) -> Void)? = nil) -> (embedding: Tensor, geometry: ImageGeometry) {
        let (input, geometry) = preprocess(image)
        trace?("input_preprocessed", input)
        return (encoder(input, trace: trace), geometry)
    }
}

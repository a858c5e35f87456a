import TensorMath

/// One object's prompt in original-image pixels.
public struct PromptSet: Sendable {
    public var points: [SIMD2<Float>]
    /// 1 foreground, 0 background.
    public var labels: [Int32]
    /// x0, y0, x1, y1.
    public var box: SIMD4<Float>?
    /// Previous low-resolution logits [1, 256, 256] for cascaded refinement (SAM only).
    public var maskInput: Tensor?

    public init(points: [SIMD2<Float>] = [], labels: [Int32] = [], box: SIMD4<Float>? = nil, maskInput: Tensor? = nil) {
        self.points = points
        self.labels = labels
        self.box = box
        self.maskInput = maskInput
    }
}

/// Masks for one prompt set at the original image size.
public struct MaskPrediction: Sendable {
    /// [C, 256, 256] low-resolution logits.
    public var lowResLogits: Tensor
    public var iouPredictions: [Float]
    public var stabilityScores: [Float]
    /// C masks of height·width bytes, 0 or 1, row-major.
    public var masks: [[UInt8]]
}

/// EfficientSAM always sees this many points; shorter prompts are padded with label −1.
let efficientSAMPromptPoints = 6

extension SegmentAnythingModel {
    /// Maps a prompt from original pixels to the model's 1024 frame, in the family's conventions.
    public func modelInput(for prompt: PromptSet, geometry: ImageGeometry) -> EncodedPromptInput {
        let (h, w) = geometry.originalSize
        switch family {
        case .sam:
            // ResizeLongestSide.apply_coords: float64 scale from the rounded new size.
            let sx = Double(geometry.inputSize.width) / Double(w)
            let sy = Double(geometry.inputSize.height) / Double(h)
            let map = { (p: SIMD2<Float>) in SIMD2<Float>(Float(Double(p.x) * sx), Float(Double(p.y) * sy)) }
            let box = prompt.box.map { b -> SIMD4<Float> in
                let a = map(SIMD2(b[0], b[1])), c = map(SIMD2(b[2], b[3]))
                return SIMD4(a.x, a.y, c.x, c.y)
            }
            return EncodedPromptInput(points: prompt.points.map(map), labels: prompt.labels, box: box,
                                      maskInput: prompt.maskInput)
        case .efficientSAM:
            // Each axis scaled by its own stretch; negative coordinates mean "no point" (−1).
            let side = Float(imageSize)
            let map = { (p: SIMD2<Float>) in
                SIMD2<Float>(p.x >= 0 ? p.x * side / Float(w) : -1, p.y >= 0 ? p.y * side / Float(h) : -1)
            }
            var points = prompt.points.map(map)
            var labels = prompt.labels
            if let b = prompt.box {
                points += [map(SIMD2(b[0], b[1])), map(SIMD2(b[2], b[3]))]
                labels += [2, 3]
            }
            while points.count < efficientSAMPromptPoints {
                points.append(SIMD2(-1, -1))
                labels.append(-1)
            }
            return EncodedPromptInput(points: points, labels: labels)
        }
    }

    /// Does the prompt-independent part of decoding once, for many prompt sets on one image.
    public func prepare(embedding: Tensor, geometry: ImageGeometry) -> PreparedEmbedding {
        PreparedEmbedding(embedding: embedding, geometry: geometry,
                          decoderImage: decoderImage(embedding: embedding, maskInput: nil))
    }

    /// Low-resolution masks and IoU for one prompt set against a prepared embedding.
    public func decode(_ prepared: PreparedEmbedding, prompt: EncodedPromptInput, multimask: Bool) -> DecoderOutput {
        // A mask prompt changes SAM's dense embedding, and with it the image tokens.
        let image = prompt.maskInput == nil
            ? prepared.decoderImage : decoderImage(embedding: prepared.embedding, maskInput: prompt.maskInput)
        return maskDecoder(image: image, sparse: promptEncoder.sparseEmbedding(prompt), multimask: multimask)
    }

    /// Low-resolution masks and IoU for one prompt set against a precomputed embedding.
    public func decode(embedding: Tensor, prompt: EncodedPromptInput, multimask: Bool) -> DecoderOutput {
        maskDecoder(image: decoderImage(embedding: embedding, maskInput: prompt.maskInput),
                    sparse: promptEncoder.sparseEmbedding(prompt), multimask: multimask)
    }

    private func decoderImage(embedding: Tensor, maskInput: Tensor?) -> DecoderImage {
        maskDecoder.prepareImage(imageEmbedding: embedding, dense: promptEncoder.denseEmbedding(maskInput: maskInput),
                                 keyPE: densePETokens)
    }

    /// Resamples low-resolution logits [C, 256, 256] to the original image, as the family does:
    /// SAM goes bilinear to the 1024 input, crops the content, then bilinear to the photo;
    /// EfficientSAM goes bicubic straight to the photo.
    public func upsample(_ lowRes: Tensor, geometry: ImageGeometry) -> Tensor {
        let (h, w) = geometry.originalSize
        switch family {
        case .sam:
            let full = resizeBilinear(lowRes, height: geometry.modelInputSize, width: geometry.modelInputSize)
            let content = crop(full, height: geometry.inputSize.height, width: geometry.inputSize.width)
            return resizeBilinear(content, height: h, width: w)
        case .efficientSAM:
            return resizeBicubic(lowRes, height: h, width: w)
        }
    }

    /// Full prediction for one prompt set: logits, IoU, binary masks and stability scores.
    public func predict(_ prepared: PreparedEmbedding, prompt: PromptSet, multimask: Bool,
                        stabilityOffset: Float = 1) -> MaskPrediction {
        let geometry = prepared.geometry
        let output = decode(prepared, prompt: modelInput(for: prompt, geometry: geometry), multimask: multimask)
        let logits = upsample(output.lowResLogits, geometry: geometry)
        let plane = geometry.originalSize.height * geometry.originalSize.width
        var masks: [[UInt8]] = []
        var stability: [Float] = []
        logits.data.withUnsafeBufferPointer { p in
            for c in 0..<output.iouPredictions.count {
                let (mask, score) = binarise(UnsafeBufferPointer(rebasing: p[c * plane ..< (c + 1) * plane]),
                                             stabilityOffset: stabilityOffset)
                masks.append(mask)
                stability.append(score)
            }
        }
        return MaskPrediction(lowResLogits: output.lowResLogits, iouPredictions: output.iouPredictions,
                              stabilityScores: stability, masks: masks)
    }

    /// `predict` for a single prompt set; for several on one image, `prepare` the embedding once.
    public func predict(embedding: Tensor, geometry: ImageGeometry, prompt: PromptSet, multimask: Bool,
                        stabilityOffset: Float = 1) -> MaskPrediction {
        predict(prepare(embedding: embedding, geometry: geometry), prompt: prompt, multimask: multimask,
                stabilityOffset: stabilityOffset)
    }

    /// Binary mask: logits > 0 (SAM) or ≥ 0 (EfficientSAM).
    public func threshold(_ logits: UnsafeBufferPointer<Float>) -> [UInt8] {
        binarise(logits, stabilityOffset: 1).mask
    }

    /// The binary mask and the stability score of one logit plane, in one pass over the pixels,
    /// split into blocks over the cores.
    func binarise(_ logits: UnsafeBufferPointer<Float>, stabilityOffset: Float) -> (mask: [UInt8], stability: Float) {
        let blockSize = 1 << 16, blocks = (logits.count + blockSize - 1) / blockSize
        let inclusive = family == .efficientSAM
        var counts = [(intersection: Int, union: Int)](repeating: (0, 0), count: blocks)
        let mask = [UInt8](unsafeUninitializedCapacity: logits.count) { mask, initialised in
            counts.withUnsafeMutableBufferPointer { blockCounts in
                parallelFor(blocks) { _, block in
                    let start = block * blockSize, count = min(blockSize, logits.count - start)
                    let p = logits.baseAddress! + start, out = mask.baseAddress! + start
                    if inclusive {
                        for i in 0..<count { out[i] = p[i] >= 0 ? 1 : 0 }
                    } else {
                        for i in 0..<count { out[i] = p[i] > 0 ? 1 : 0 }
                    }
                    blockCounts[block] = stabilityCounts(p, count: count, offset: stabilityOffset)
                }
            }
            initialised = logits.count
        }
        let union = counts.reduce(0) { $0 + $1.union }
        return (mask, union == 0 ? 0 : Float(counts.reduce(0) { $0 + $1.intersection }) / Float(union))
    }
}

/// An image embedding prepared for decoding (SamPredictor's `set_image`): `prepare` it once,
/// then `predict` or `decode` any number of prompt sets against it.
public struct PreparedEmbedding: Sendable {
    public let embedding: Tensor
    public let geometry: ImageGeometry
    let decoderImage: DecoderImage
}

/// Pixels above +offset and above −offset: the intersection and union of SAM's stability score.
@inline(__always)
private func stabilityCounts(_ logits: UnsafePointer<Float>, count: Int, offset: Float,
                             threshold: Float = 0) -> (intersection: Int, union: Int) {
    var intersection = 0, union = 0
    let high = threshold + offset, low = threshold - offset
    for i in 0..<count {
        intersection &+= logits[i] > high ? 1 : 0
        union &+= logits[i] > low ? 1 : 0
    }
    return (intersection, union)
}

/// SAM's stability score: the IoU between the masks thresholded at +offset and −offset,
/// i.e. count(logits > offset) / count(logits > −offset).
public func stabilityScore(_ logits: UnsafeBufferPointer<Float>, offset: Float, threshold: Float = 0) -> Float {
    guard let base = logits.baseAddress else { return 0 }
    let (intersection, union) = stabilityCounts(base, count: logits.count, offset: offset, threshold: threshold)
    return union == 0 ? 0 : Float(intersection) / Float(union)
}

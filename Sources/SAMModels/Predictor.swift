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

    /// Low-resolution masks and IoU for one prompt set against a precomputed embedding.
    public func decode(embedding: Tensor, prompt: EncodedPromptInput, multimask: Bool) -> DecoderOutput {
        let sparse = promptEncoder.sparseEmbedding(prompt)
        let dense = promptEncoder.denseEmbedding(maskInput: prompt.maskInput)
        return maskDecoder(imageEmbedding: embedding, imagePE: densePE, sparse: sparse, dense: dense,
                           multimask: multimask)
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
    public func predict(embedding: Tensor, geometry: ImageGeometry, prompt: PromptSet, multimask: Bool,
                        stabilityOffset: Float = 1) -> MaskPrediction {
        let output = decode(embedding: embedding, prompt: modelInput(for: prompt, geometry: geometry),
                            multimask: multimask)
        let logits = upsample(output.lowResLogits, geometry: geometry)
        let plane = geometry.originalSize.height * geometry.originalSize.width
        var masks: [[UInt8]] = []
        var stability: [Float] = []
        logits.data.withUnsafeBufferPointer { p in
            for c in 0..<output.iouPredictions.count {
                let channel = UnsafeBufferPointer(rebasing: p[c * plane ..< (c + 1) * plane])
                masks.append(threshold(channel))
                stability.append(stabilityScore(channel, offset: stabilityOffset))
            }
        }
        return MaskPrediction(lowResLogits: output.lowResLogits, iouPredictions: output.iouPredictions,
                              stabilityScores: stability, masks: masks)
    }

    /// Binary mask: logits > 0 (SAM) or ≥ 0 (EfficientSAM).
    public func threshold(_ logits: UnsafeBufferPointer<Float>) -> [UInt8] {
        let inclusive = family == .efficientSAM
        return [UInt8](unsafeUninitializedCapacity: logits.count) { out, count in
            if inclusive {
                for i in 0..<logits.count { out[i] = logits[i] >= 0 ? 1 : 0 }
            } else {
                for i in 0..<logits.count { out[i] = logits[i] > 0 ? 1 : 0 }
            }
            count = logits.count
        }
    }
}

/// SAM's stability score: the IoU between the masks thresholded at +offset and −offset,
/// i.e. count(logits > offset) / count(logits > −offset).
public func stabilityScore(_ logits: UnsafeBufferPointer<Float>, offset: Float, threshold: Float = 0) -> Float {
    var intersection = 0, union = 0
    let high = threshold + offset, low = threshold - offset
    for v in logits {
        intersection += v > high ? 1 : 0
        union += v > low ? 1 : 0
    }
    return union == 0 ? 0 : Float(intersection) / Float(union)
}

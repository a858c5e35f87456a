import Geometry
import TensorMath

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
    /// A mask input [256, 256] becomes the prompt encoder's [1, 256, 256].
    public func modelInput(for prompt: PromptSet, geometry: ImageGeometry) -> EncodedPromptInput {
        let (h, w) = (geometry.originalSize.height, geometry.originalSize.width)
        switch family {
        case .sam:
            // ResizeLongestSide.apply_coords: float64 scale from the rounded new size.
            let sx = Double(geometry.inputSize.width) / Double(w)
            let sy = Double(geometry.inputSize.height) / Double(h)
            let map = { (x: Float, y: Float) in SIMD2<Float>(Float(Double(x) * sx), Float(Double(y) * sy)) }
            let box = prompt.box.map { b -> SIMD4<Float> in
                let a = map(b.x0, b.y0), c = map(b.x1, b.y1)
                return SIMD4(a.x, a.y, c.x, c.y)
            }
            return EncodedPromptInput(points: prompt.points.map { map($0.x, $0.y) }, labels: prompt.labels, box: box,
                                      maskInput: prompt.maskInput?.reshaped([1] + PromptSet.maskInputShape))
        case .efficientSAM:
            // Each axis scaled by its own stretch; negative coordinates mean "no point" (−1).
            let side = Float(imageSize)
            let map = { (x: Float, y: Float) in
                SIMD2<Float>(x >= 0 ? x * side / Float(w) : -1, y >= 0 ? y * side / Float(h) : -1)
            }
            var points = prompt.points.map { map($0.x, $0.y) }
            var labels = prompt.labels
            if let b = prompt.box {
                points += [map(b.x0, b.y0), map(b.x1, b.y1)]
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
        let (source, filter) = finalResize(lowRes, geometry: geometry)
        return resize(source, height: geometry.originalSize.height, width: geometry.originalSize.width, filter: filter)
    }

    /// What the last resize to the photo's size starts from, and its filter.
    private func finalResize(_ lowRes: Tensor, geometry: ImageGeometry) -> (source: Tensor, filter: ResizeFilter) {
        switch family {
        case .sam:
            let full = resizeBilinear(lowRes, height: geometry.modelInputSize, width: geometry.modelInputSize)
            return (crop(full, height: geometry.inputSize.height, width: geometry.inputSize.width), .bilinear)
        case .efficientSAM:
            return (lowRes, .bicubic)
        }
    }

    /// Full prediction for one prompt set: logits, IoU, binary masks and stability scores.
    public func predict(_ prepared: PreparedEmbedding, prompt: PromptSet, multimask: Bool,
                        stabilityOffset: Float = 1) -> MaskPrediction {
        let geometry = prepared.geometry
        let output = decode(prepared, prompt: modelInput(for: prompt, geometry: geometry), multimask: multimask)
        let (h, w) = (geometry.originalSize.height, geometry.originalSize.width)
        let planeShape = [1] + output.lowResLogits.shape.dropFirst()
        var masks: [[UInt8]] = []
        var stability: [Float] = []
        for c in 0..<output.iouPredictions.count {
            // Full-size logits are thresholded and counted row by row as the resize produces them.
            let (source, filter) = finalResize(output.lowResLogits[c].reshaped(planeShape), geometry: geometry)
            var rowCounts = [(intersection: Int, union: Int)](repeating: (0, 0), count: h)
            masks.append([UInt8](unsafeUninitializedCapacity: h * w) { mask, initialised in
                rowCounts.withUnsafeMutableBufferPointer { counts in
                    forEachResizedRow(source, height: h, width: w, filter: filter) { _, row, logits in
                        counts[row] = binarise(logits, into: mask.baseAddress! + row * w, stabilityOffset: stabilityOffset)
                    }
                }
                initialised = h * w
            })
            stability.append(stabilityScore(rowCounts))
        }
        return MaskPrediction(lowResLogits: output.lowResLogits, iouPredictions: output.iouPredictions,
                              stabilityScores: stability, masks: masks)
    }

    /// `predict` for many prompt sets against one prepared embedding, as many at once as there
    /// are compute threads: each runs its kernels on its own thread, which for the decoder's
    /// small products beats splitting every product across the cores.
    public func predict(_ prepared: PreparedEmbedding, prompts: [PromptSet], multimask: Bool,
                        stabilityOffset: Float = 1) -> [MaskPrediction] {
        var predictions = [MaskPrediction?](repeating: nil, count: prompts.count)
        predictions.withUnsafeMutableBufferPointer { results in
            parallelFor(prompts.count) { _, i in
                results[i] = predict(prepared, prompt: prompts[i], multimask: multimask, stabilityOffset: stabilityOffset)
            }
        }
        return predictions.map { $0! }
    }

    /// `predict` for a single prompt set; for several on one image, `prepare` the embedding once.
    public func predict(embedding: Tensor, geometry: ImageGeometry, prompt: PromptSet, multimask: Bool,
                        stabilityOffset: Float = 1) -> MaskPrediction {
        predict(prepare(embedding: embedding, geometry: geometry), prompt: prompt, multimask: multimask,
                stabilityOffset: stabilityOffset)
    }

    /// Binary mask: logits > 0 (SAM) or ≥ 0 (EfficientSAM).
    public func threshold(_ logits: UnsafeBufferPointer<Float>) -> [UInt8] {
        let blockSize = 1 << 16, blocks = (logits.count + blockSize - 1) / blockSize
        return [UInt8](unsafeUninitializedCapacity: logits.count) { mask, initialised in
            parallelFor(blocks) { _, block in
                let start = block * blockSize, end = min(start + blockSize, logits.count)
                _ = binarise(UnsafeBufferPointer(rebasing: logits[start ..< end]), into: mask.baseAddress! + start,
                             stabilityOffset: 1)
            }
            initialised = logits.count
        }
    }

    /// Writes the binary mask of `logits` and returns their stability counts, in one pass.
    private func binarise(_ logits: UnsafeBufferPointer<Float>, into mask: UnsafeMutablePointer<UInt8>,
                          stabilityOffset: Float) -> (intersection: Int, union: Int) {
        if family == .efficientSAM {
            for i in 0..<logits.count { mask[i] = logits[i] >= 0 ? 1 : 0 }
        } else {
            for i in 0..<logits.count { mask[i] = logits[i] > 0 ? 1 : 0 }
        }
        return stabilityCounts(logits.baseAddress!, count: logits.count, offset: stabilityOffset)
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
private func stabilityCounts(_ logits: UnsafePointer<Float>, count: Int, offset: Float,
                             threshold: Float = 0) -> (intersection: Int, union: Int) {
    typealias Lanes = SIMD16<Float>
    let high = threshold + offset, low = threshold - offset
    let whole = count / Lanes.scalarCount * Lanes.scalarCount
    var intersection = 0, union = 0
    // Per-lane 32-bit counters (compare and subtract, no branches), emptied every 2^20 vectors.
    for chunkStart in stride(from: 0, to: whole, by: Lanes.scalarCount << 20) {
        var above = SIMD16<Int32>(repeating: 0), aboveLow = SIMD16<Int32>(repeating: 0)
        for i in stride(from: chunkStart, to: min(whole, chunkStart + Lanes.scalarCount << 20), by: Lanes.scalarCount) {
            let v = UnsafeRawPointer(logits + i).loadUnaligned(as: Lanes.self)
            above &+= SIMD16<Int32>(repeating: 0).replacing(with: 1, where: v .> high)
            aboveLow &+= SIMD16<Int32>(repeating: 0).replacing(with: 1, where: v .> low)
        }
        intersection += Int(above.wrappedSum())
        union += Int(aboveLow.wrappedSum())
    }
    for i in whole..<count {
        intersection += logits[i] > high ? 1 : 0
        union += logits[i] > low ? 1 : 0
    }
    return (intersection, union)
}

/// SAM's stability score: the IoU between the masks thresholded at +offset and −offset,
/// i.e. count(logits > offset) / count(logits > −offset).
public func stabilityScore(_ logits: UnsafeBufferPointer<Float>, offset: Float, threshold: Float = 0) -> Float {
    guard let base = logits.baseAddress else { return 0 }
    return stabilityScore([stabilityCounts(base, count: logits.count, offset: offset, threshold: threshold)])
}

/// The stability score from the counts of the parts of a plane.
private func stabilityScore(_ counts: [(intersection: Int, union: Int)]) -> Float {
    let union = counts.reduce(0) { $0 + $1.union }
    return union == 0 ? 0 : Float(counts.reduce(0) { $0 + $1.intersection }) / Float(union)
}

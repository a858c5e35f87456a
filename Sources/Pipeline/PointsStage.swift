import Artifacts
import Checkpoints
import Foundation
import Geometry
import Imaging
import TensorMath
import VLSAMMethod

/// Point sampling: a `vlsam.attention` artifact → per object a prompt set for SAM (method page
/// §8) → `vlsam.prompts` artifact. With the previous iteration's masks it is one refinement step
/// (§9): points from the attention within the kept mask, a negative outside it, and for SAM
/// checkpoints the kept mask's low-resolution logits as mask input.
public struct PointsStage {
    public struct Options: Codable, Equatable, Sendable {
        public var strategy: SamplingStrategy = .vlSAM
        /// tau: candidate pixels have P ≥ tau; in (0, 1].
        public var threshold: Double = 0.5
        /// k: points per kind for local-maxima, kmeans and random.
        public var points: Int = 3
        /// kmeans and random draw from a generator seeded with this.
        public var seed: UInt64 = 0
        /// Refinement: also prompt with the kept mask's bounding box.
        public var boxFromMask = false
        public init() {}
    }

    public init() {}

    /// Samples every object's points and writes the prompts artifact atomically; optionally one
    /// PNG per object with its map and points.
    @discardableResult
    public func run(attention attentionPath: String, previousMasks masksPath: String? = nil, output: String,
                    options: Options, pngDirectory: String? = nil) throws -> PromptsArtifact {
        guard options.threshold > 0 && options.threshold <= 1 else {
            throw StageError("--threshold", "\(options.threshold) is outside (0, 1]")
        }
        let attention = try AttentionArtifact.read(from: attentionPath)
        let previous = try masksPath.map { try keptMasks(at: $0, for: attention) }
        let sampler = PointSampler(strategy: options.strategy, threshold: Float(options.threshold), count: options.points,
                                   seed: options.seed)
        let size = attention.originalSize
        var sets: [PromptSet] = []
        var pictures: [(map: [Float], points: SampledPoints)] = []
        for (k, object) in attention.objects.enumerated() {
            let map = promptMap(attention, object: k)
            var set = PromptSet(name: object.name)
            let sampled: SampledPoints
            if let previous {
                // An object without a kept mask (never localised, or refinement already stopped) stays empty.
                let kept = previous[k]
                sampled = kept.map { Refinement.points(map, keptMask: $0.mask, threshold: sampler.threshold) } ?? SampledPoints()
                if let kept, sampled.localised {
                    set.maskInput = kept.logits
                    if options.boxFromMask {
                        set.box = Refinement.boundingBox(of: kept.mask, height: size.height, width: size.width)
                    }
                }
            } else {
                sampled = sampler.sample(map)
            }
            set.localised = sampled.localised
            if sampled.localised {
                set.points = sampled.positives + sampled.negatives
                set.labels = [Int32](repeating: 1, count: sampled.positives.count) + [Int32](repeating: 0, count: sampled.negatives.count)
            }
            sets.append(set)
            if pngDirectory != nil { pictures.append((map.values, sampled)) }
        }
        let masks = try previous.map { _ in (masksPath!, try sha256Hex(ofFile: masksPath!)) }
        let iteration = try masks.map { (try MasksArtifact.read(from: $0.0).refinementIteration ?? 0) + 1 } ?? 0
        var parameters = options
        if options.strategy != .kmeans && options.strategy != .random { parameters.seed = 0 }
        let artifact = PromptsArtifact(
            provenance: Provenance(producer: "vlsam-points", modelName: attention.provenance.modelName,
                                   sourceImage: attention.provenance.sourceImage,
                                   sourceImageSHA256: attention.provenance.sourceImageSHA256,
                                   parameters: try Provenance.json(parameters)),
            originalSize: size, sets: sets,
            origin: .init(refinementIteration: iteration, attentionFile: attentionPath,
                          attentionSHA256: try sha256Hex(ofFile: attentionPath),
                          masksFile: masks?.0 ?? "", masksSHA256: masks?.1 ?? ""))
        try artifact.write(to: output)
        if let pngDirectory {
            try FileManager.default.createDirectory(atPath: pngDirectory, withIntermediateDirectories: true)
            let photo = try decodeImage(atPath: attention.provenance.sourceImage)
            let radius = max(5, Float(min(size.height, size.width)) / 80)
            for (k, picture) in pictures.enumerated() {
                var image = heatMapOverlay(photo, values: picture.map)
                for point in picture.points.negatives { drawMarker(on: &image, x: point.x, y: point.y, radius: radius, colour: SIMD3(230, 30, 30)) }
                for point in picture.points.positives { drawMarker(on: &image, x: point.x, y: point.y, radius: radius, colour: SIMD3(20, 210, 60)) }
                try writePNG(image, to: pngPath(pngDirectory, output, k, sets[k].name))
            }
        }
        return artifact
    }

    /// The mask each object kept at the previous iteration (highest predicted IoU among its set's
    /// masks) with its low-resolution logits when the checkpoint takes a mask input; nil for an
    /// object whose set was skipped. The masks must belong to this attention's objects and image.
    func keptMasks(at path: String, for attention: AttentionArtifact) throws -> [(mask: [UInt8], logits: Tensor?)?] {
        let masks = try MasksArtifact.read(from: path)
        guard masks.originalSize == attention.originalSize else {
            throw StageError(path, "masks are \(masks.originalSize) but the attention's image is \(attention.originalSize)")
        }
        guard masks.setNames == attention.objects.map(\.name) else {
            throw StageError(path, "its prompt sets \(masks.setNames) are not the attention's objects \(attention.objects.map(\.name))")
        }
        guard let family = masks.modelFamily else {
            throw StageError(path, "does not record its model family (written by an older vlsam-decode); decode again")
        }
        let takesMaskInput = family == "sam"
        let plane = 256 * 256
        return attention.objects.indices.map { k in
            let candidates = masks.promptSet.indices.filter { masks.promptSet[$0] == Int32(k) }
            guard let best = candidates.max(by: { masks.iouPredictions[$0] < masks.iouPredictions[$1] }) else { return nil }
            let logits = takesMaskInput
                ? Tensor(shape: [256, 256], data: Array(masks.lowresLogits.data[best * plane ..< (best + 1) * plane])) : nil
            return (Array(masks.mask(best)), logits)
        }
    }
}

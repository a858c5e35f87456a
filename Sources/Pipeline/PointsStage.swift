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

    /// The `parameters` its artifacts record for `options`: only what matters to the step (the
    /// seed for kmeans and random, the box option when refining).
    public static func recordedParameters(_ options: Options, refining: Bool) throws -> String {
        var parameters = options
        if options.strategy != .kmeans && options.strategy != .random { parameters.seed = 0 }
        if !refining { parameters.boxFromMask = false }
        return try Provenance.json(parameters)
    }

    /// What a refinement step starts from: the previous iteration's masks artifact and, per
    /// object, the mask it kept (nil for an object whose set was skipped).
    struct PreviousMasks {
        struct Kept {
            let mask: [UInt8]
            /// Its low-resolution logits, for checkpoints that take a mask input (SAM).
            let logits: Tensor?
        }

        let path: String
        let sha256: String
        let iteration: Int
        let kept: [Kept?]
    }

    /// Samples every object's points and writes the prompts artifact atomically; optionally one
    /// PNG per object with its map and points (and, refining, the outline of the kept mask).
    @discardableResult
    public func run(attention attentionPath: String, previousMasks masksPath: String? = nil, output: String,
                    options: Options, pngDirectory: String? = nil) throws -> PromptsArtifact {
        guard options.threshold > 0 && options.threshold <= 1 else {
            throw StageError("--threshold", "\(options.threshold) is outside (0, 1]")
        }
        let attention = try AttentionArtifact.read(from: attentionPath)
        try requireOutput(output, differentFrom: [("attention", attentionPath), ("previous masks", masksPath ?? ""),
                                                  ("photo", attention.provenance.sourceImage)])
        let previous = try masksPath.map { try previousMasks(at: $0, for: attention) }
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
                let kept = previous.kept[k]
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
        let artifact = PromptsArtifact(
            provenance: Provenance(producer: "vlsam-points", modelName: attention.provenance.modelName,
                                   sourceImage: attention.provenance.sourceImage,
                                   sourceImageSHA256: attention.provenance.sourceImageSHA256,
                                   parameters: try Self.recordedParameters(options, refining: previous != nil),
                                   randomWeights: attention.provenance.randomWeights),
            originalSize: size, sets: sets,
            origin: .init(refinementIteration: previous.map { $0.iteration + 1 } ?? 0, attentionFile: attentionPath,
                          attentionSHA256: try sha256Hex(ofFile: attentionPath),
                          masksFile: previous?.path ?? "", masksSHA256: previous?.sha256 ?? ""))
        try artifact.write(to: output)
        if let pngDirectory {
            try writePictures(pictures, sets: sets, kept: previous?.kept, photo: attention.provenance.sourceImage,
                              to: pngDirectory, stem: output)
        }
        return artifact
    }

    /// Each object's map over the photo with its points: positives green, negatives red; when
    /// refining, the kept mask's outline in white.
    func writePictures(_ pictures: [(map: [Float], points: SampledPoints)], sets: [PromptSet], kept: [PreviousMasks.Kept?]?,
                       photo path: String, to directory: String, stem output: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let photo = try decodeImage(atPath: path)
        let radius = max(5, Float(min(photo.height, photo.width)) / 80)
        for (k, picture) in pictures.enumerated() {
            var image = heatMapOverlay(photo, values: picture.map)
            if let mask = kept?[k]?.mask { drawOutline(on: &image, of: mask, colour: SIMD3(255, 255, 255)) }
            for point in picture.points.negatives { drawMarker(on: &image, x: point.x, y: point.y, radius: radius, colour: SIMD3(230, 30, 30)) }
            for point in picture.points.positives { drawMarker(on: &image, x: point.x, y: point.y, radius: radius, colour: SIMD3(20, 210, 60)) }
            try writePNG(image, to: pngPath(directory, output, k, sets[k].name))
        }
    }

    /// Reads the previous iteration's masks: the mask each object kept (highest predicted IoU
    /// among its set's masks, first on ties) with its low-resolution logits when the checkpoint
    /// takes a mask input. The masks must belong to this attention's objects and image.
    func previousMasks(at path: String, for attention: AttentionArtifact) throws -> PreviousMasks {
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
        let kept = attention.objects.indices.map { k -> PreviousMasks.Kept? in
            let candidates = masks.promptSet.indices.filter { masks.promptSet[$0] == Int32(k) }
            guard let best = candidates.max(by: { masks.iouPredictions[$0] < masks.iouPredictions[$1] }) else { return nil }
            let logits = takesMaskInput
                ? Tensor(shape: [256, 256], data: Array(masks.lowresLogits.data[best * plane ..< (best + 1) * plane])) : nil
            return PreviousMasks.Kept(mask: Array(masks.mask(best)), logits: logits)
        }
        return PreviousMasks(path: path, sha256: try sha256Hex(ofFile: path), iteration: masks.refinementIteration ?? 0, kept: kept)
    }
}

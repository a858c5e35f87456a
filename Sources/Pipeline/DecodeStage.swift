import Artifacts
import Checkpoints
import Foundation
import Geometry
import Imaging
import SAMModels
import TensorMath

/// Mask decoding: a `vlsam.embedding` artifact plus prompt sets → `vlsam.masks` artifact.
/// The embedding is read once and shared by every prompt set (the SamPredictor pattern).
public struct DecodeStage {
    public struct Options: Codable, Equatable, Sendable {
        /// Three candidate masks per prompt set instead of one.
        public var multimask = false
        /// SAM's stability score compares the masks thresholded at ±offset.
        public var stabilityOffset: Float = 1
        public init() {}
    }

    public let loaded: LoadedModel

    public init(checkpoint: String) throws {
        loaded = try LoadedModel(checkpoint: checkpoint)
    }

    /// Shares a model already loaded (a driver loads it once for encoding and decoding).
    public init(loaded: LoadedModel) {
        self.loaded = loaded
    }

    /// The `parameters` its artifacts record for `options`.
    public static func recordedParameters(_ options: Options) throws -> String { try Provenance.json(options) }

    /// Reads an embedding and checks it was made with this very checkpoint (its recorded SHA-256):
    /// another checkpoint's decoder, even of the same architecture, would make meaningless masks.
    public func embedding(at path: String) throws -> EmbeddingArtifact {
        let artifact = try EmbeddingArtifact.read(from: path)
        let made = artifact.provenance
        guard made.checkpointSHA256 == loaded.checkpointSHA256 else {
            let recorded = made.checkpointSHA256.isEmpty ? "a checkpoint it does not record"
                : "\(made.modelName) \(made.checkpointPath) (sha256 \(made.checkpointSHA256.prefix(12))…)"
            throw StageError(path, "was made with \(recorded), not with \(loaded.model.name) \(loaded.checkpointPath) " +
                             "(sha256 \(loaded.checkpointSHA256.prefix(12))…); decode with the checkpoint that made it, or encode again")
        }
        // The decoder upsamples to the model input before cropping: a size it would not have made is refused, not allocated.
        let model = loaded.model, expected = model.inputSize(forOriginal: artifact.originalSize)
        guard artifact.modelInputSize == model.imageSize, artifact.inputSize == expected else {
            throw StageError(path, "records the \(artifact.originalSize) image as \(artifact.inputSize) in a \(artifact.modelInputSize)-pixel " +
                             "model input, but \(model.name) makes \(expected) in \(model.imageSize) pixels")
        }
        return artifact
    }

    /// Where the prompt sets of a run come from.
    public enum Prompts {
        /// A `vlsam.prompts` artifact (recorded by path and SHA-256 in the masks artifact).
        case file(String)
        /// Sets given on the command line (recorded as JSON text in the masks artifact).
        case commandLine([PromptSet])
    }

    /// Decodes every prompt set and writes the masks artifact atomically; optionally one PNG per mask.
    @discardableResult
    public func run(embeddingPath: String, prompts: Prompts, options: Options, output: String, pngDirectory: String? = nil,
                    progress: ((Int, Int) -> Void)? = nil) throws -> MasksArtifact {
        var inputs = [("embedding", embeddingPath), ("checkpoint", loaded.checkpointPath)]
        if case .file(let path) = prompts { inputs.append(("prompts", path)) }
        try requireOutput(output, differentFrom: inputs)
        let embedding = try self.embedding(at: embeddingPath)
        let sets: [PromptSet], promptSource: String, record: MasksArtifact.PromptsRecord, refinementIteration: Int?
        var promptsFromRandomWeights = false
        switch prompts {
        case .file(let path):
            let artifact = try PromptsArtifact.read(from: path)
            guard artifact.originalSize == embedding.originalSize else {
                throw StageError(path, "prompts are for a \(artifact.originalSize) image, but the embedding \(embeddingPath) " +
                                 "is of a \(embedding.originalSize) image (sizes are height x width)")
            }
            (sets, promptSource, refinementIteration) = (artifact.sets, path, artifact.origin?.refinementIteration)
            record = .init(file: path, sha256: try sha256Hex(ofFile: path), commandLine: "")
            promptsFromRandomWeights = artifact.provenance.randomWeights
        case .commandLine(let given):
            (sets, promptSource, refinementIteration) = (given, "command line", nil)
            record = .init(file: "", sha256: "", commandLine: try commandLineJSON(given))
        }
        let model = loaded.model
        let geometry = embedding.geometry
        guard !sets.isEmpty else { throw StageError(promptSource, "no prompt sets to decode") }
        if let index = sets.firstIndex(where: { $0.isEmpty && $0.localised }) {
            throw StageError(promptSource, "prompt set \(index)\(sets[index].name.isEmpty ? "" : " (\(sets[index].name))") has neither points nor a box")
        }

        var masks: [UInt8] = [], logits: [Float] = [], iou: [Float] = [], stability: [Float] = []
        var setIndex: [Int32] = [], maskIndex: [Int32] = []
        // What depends only on the image is prepared once and shared by every prompt set.
        let prepared = model.prepare(embedding: embedding.embedding, geometry: geometry)
        // Empty sets (objects whose attention had no candidate pixel) are skipped, not errors.
        let decoded = sets.indices.filter { !sets[$0].isEmpty }
        for s in decoded { try check(sets[s], index: s, source: promptSource, imageSize: embedding.originalSize) }
        let prompts = decoded.map { sets[$0] }
        // Several prompt sets are decoded at once (one per thread); progress is reported per chunk.
        let chunk = 4 * computeThreads()
        for chunkStart in stride(from: 0, to: prompts.count, by: chunk) {
            let range = chunkStart ..< min(chunkStart + chunk, prompts.count)
            let predictions = model.predict(prepared, prompts: Array(prompts[range]), multimask: options.multimask,
                                            stabilityOffset: options.stabilityOffset)
            for (p, prediction) in zip(range, predictions) {
                let s = decoded[p]
                for (k, mask) in prediction.masks.enumerated() {
                    masks += mask
                    setIndex.append(Int32(s))
                    maskIndex.append(Int32(k))
                }
                logits += prediction.lowResLogits.data
                iou += prediction.iouPredictions
                stability += prediction.stabilityScores
            }
            progress?(range.upperBound, prompts.count)
        }
        let provenance = Provenance(
            producer: "vlsam-decode", modelName: model.name,
            checkpointPath: loaded.checkpointPath, checkpointSHA256: loaded.checkpointSHA256,
            sourceImage: embedding.provenance.sourceImage, sourceImageSHA256: embedding.provenance.sourceImageSHA256,
            parameters: try Self.recordedParameters(options),
            randomWeights: Provenance.isRandomWeights(loaded.checkpointPath) || promptsFromRandomWeights)
        let artifact = MasksArtifact(
            provenance: provenance, originalSize: embedding.originalSize, multimask: options.multimask, maskThreshold: 0,
            thresholdRule: model.thresholdRule, embeddingFile: embeddingPath,
            embeddingSHA256: try sha256Hex(ofFile: embeddingPath), masks: masks,
            lowresLogits: Tensor(shape: [iou.count, 256, 256], data: logits), iouPredictions: iou,
            stabilityScores: stability, promptSet: setIndex, maskIndex: maskIndex, setNames: sets.map(\.name),
            setSkipped: sets.map(\.isEmpty), modelFamily: model.family.rawValue, refinementIteration: refinementIteration,
            prompts: record)
        try artifact.write(to: output)
        if let pngDirectory { try writePNGs(artifact, to: pngDirectory, stem: output) }
        return artifact
    }

    /// Command-line prompt sets as JSON text: points, labels and box per set (a mask input is
    /// noted, not copied).
    func commandLineJSON(_ sets: [PromptSet]) throws -> String {
        struct Recorded: Encodable {
            var points: [[Float]], labels: [Int32], box: [Float]?, maskInput: Bool
        }
        return try Provenance.json(sets.map { set in
            Recorded(points: set.points.map { [$0.x, $0.y] }, labels: set.labels,
                     box: set.box.map { [$0.x0, $0.y0, $0.x1, $0.y1] }, maskInput: set.maskInput != nil)
        })
    }

    /// Checks that this model can decode a prompt set on an image of `imageSize`.
    func check(_ set: PromptSet, index: Int, source: String, imageSize: ImageSize) throws {
        let what = "prompt set \(index)\(set.name.isEmpty ? "" : " (\(set.name))")"
        if let problem = set.problem() ?? set.placementProblem(in: imageSize) { throw StageError(source, "\(what): \(problem)") }
        if let maskInput = set.maskInput {
            guard loaded.model.family == .sam else {
                throw StageError(source, "\(what) has a mask input, but \(loaded.model.name) takes no mask prompt")
            }
            guard !maskInput.hasNonFinite else { throw StageError(source, "\(what) mask input contains NaN or infinity") }
        }
    }

    func writePNGs(_ artifact: MasksArtifact, to directory: String, stem output: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let base = ((output as NSString).lastPathComponent as NSString).deletingPathExtension
        for m in 0..<artifact.maskCount {
            let path = (directory as NSString).appendingPathComponent(
                "\(base)_set\(artifact.promptSet[m])_mask\(artifact.maskIndex[m]).png")
            try writeMaskPNG(Array(artifact.mask(m)), width: artifact.originalSize.width,
                             height: artifact.originalSize.height, to: path)
        }
    }
}

/// The low-resolution logits of one mask of a masks artifact, as a SAM mask prompt [256, 256] for
/// an image of `imageSize` (the masks must be of that size). Without an index, the mask with the
/// highest predicted IoU.
public func maskInput(fromMasksArtifact path: String, index: Int? = nil, imageSize: ImageSize) throws -> Tensor {
    let masks = try MasksArtifact.read(from: path)
    guard masks.originalSize == imageSize else {
        throw StageError(path, "masks are of a \(masks.originalSize) image, but the embedding is of a \(imageSize) image " +
                         "(sizes are height x width)")
    }
    guard masks.maskCount > 0 else { throw StageError(path, "holds no masks to use as mask input") }
    let chosen = index ?? masks.iouPredictions.indices.max { masks.iouPredictions[$0] < masks.iouPredictions[$1] }!
    guard chosen >= 0 && chosen < masks.maskCount else {
        throw StageError(path, "mask index \(chosen) is out of range (it holds \(masks.maskCount) masks)")
    }
    let plane = 256 * 256
    return Tensor(shape: [256, 256], data: Array(masks.lowresLogits.data[chosen * plane ..< (chosen + 1) * plane]))
}

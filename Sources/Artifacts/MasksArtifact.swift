import Geometry
import TensorMath

/// Decoded masks at original resolution with their scores and the prompt set that produced each.
/// Schema "vlsam.masks" (see docs/artifacts.md).
public struct MasksArtifact: Sendable, Equatable {
    public static let schema = ArtifactSchema.masks
    public static let lowResolutionShape = [256, 256]
    public static let thresholdRules = [">", ">="]
    /// Masks are mostly long runs of 0 or 1, so even fast deflate shrinks them a lot.
    public static let maskCompression = DatasetCompression.gzip(level: 4)

    public var provenance: Provenance
    /// Height and width of every mask.
    public var originalSize: ImageSize
    /// Whether the decoder returned several candidate masks per prompt set.
    public var multimask: Bool
    /// Logits above (or at, see `thresholdRule`) this value are foreground.
    public var maskThreshold: Double
    /// ">" (SAM) or ">=".
    public var thresholdRule: String
    public var embeddingFile: String
    public var embeddingSHA256: String
    /// [maskCount, height, width] row-major, 0 or 1.
    public var masks: [UInt8]
    /// [maskCount, 256, 256] decoder logits before upsampling.
    public var lowresLogits: Tensor
    public var iouPredictions: [Float]
    public var stabilityScores: [Float]
    /// Index into `setNames` (the prompt set) of each mask.
    public var promptSet: [Int32]
    /// Index of each mask among its prompt set's outputs.
    public var maskIndex: [Int32]
    public var setNames: [String]
    /// Per prompt set: true when it was empty (an object that was not localised) and so not decoded.
    public var setSkipped: [Bool]
    /// `sam` or `efficientsam` (only SAM takes the low-resolution logits back as a mask input);
    /// nil in files written before it was recorded.
    public var modelFamily: String?
    /// The refinement iteration of the prompts decoded here, when they came from attention.
    public var refinementIteration: Int?

    /// The prompts that made the masks: a prompts artifact (path and SHA-256), or sets given on
    /// the command line (JSON text).
    public struct PromptsRecord: Sendable, Equatable {
        public var file: String
        public var sha256: String
        public var commandLine: String
        public init(file: String, sha256: String, commandLine: String) {
            self.file = file
            self.sha256 = sha256
            self.commandLine = commandLine
        }
    }

    /// nil in files written before it was recorded.
    public var prompts: PromptsRecord?

    public init(provenance: Provenance, originalSize: ImageSize, multimask: Bool, maskThreshold: Double,
                thresholdRule: String, embeddingFile: String, embeddingSHA256: String, masks: [UInt8],
                lowresLogits: Tensor, iouPredictions: [Float], stabilityScores: [Float],
                promptSet: [Int32], maskIndex: [Int32], setNames: [String], setSkipped: [Bool]? = nil,
                modelFamily: String? = nil, refinementIteration: Int? = nil, prompts: PromptsRecord? = nil) {
        self.provenance = provenance
        self.originalSize = originalSize
        self.multimask = multimask
        self.maskThreshold = maskThreshold
        self.thresholdRule = thresholdRule
        self.embeddingFile = embeddingFile
        self.embeddingSHA256 = embeddingSHA256
        self.masks = masks
        self.lowresLogits = lowresLogits
        self.iouPredictions = iouPredictions
        self.stabilityScores = stabilityScores
        self.promptSet = promptSet
        self.maskIndex = maskIndex
        self.setNames = setNames
        self.setSkipped = setSkipped ?? [Bool](repeating: false, count: setNames.count)
        self.modelFamily = modelFamily
        self.refinementIteration = refinementIteration
        self.prompts = prompts
    }

    public var maskCount: Int { iouPredictions.count }

    /// The pixels of mask `index`, row-major height x width.
    public func mask(_ index: Int) -> ArraySlice<UInt8> {
        let plane = originalSize.height * originalSize.width
        return masks[index * plane ..< (index + 1) * plane]
    }

    /// Writes atomically: `path` appears complete or not at all.
    public func write(to path: String) throws {
        try validate(path)
        let count = maskCount, size = originalSize
        let file = try HDF5File(creatingAt: path)
        try provenance.write(to: file, schema: Self.schema)
        try file.setSize("original_size", size)
        try file.setAttribute("multimask", multimask ? 1 : 0)
        try file.setAttribute("mask_threshold", maskThreshold)
        try file.setAttribute("threshold_rule", thresholdRule)
        try file.setAttribute("embedding_file", embeddingFile)
        try file.setAttribute("embedding_sha256", embeddingSHA256)
        if let modelFamily { try file.setAttribute("model_family", modelFamily) }
        if let refinementIteration { try file.setAttribute("refinement_iteration", refinementIteration) }
        if let prompts {
            try file.setAttribute("prompts_file", prompts.file)
            try file.setAttribute("prompts_sha256", prompts.sha256)
            try file.setAttribute("command_line_prompts", prompts.commandLine)
        }
        try file.write(masks, shape: [count, size.height, size.width], to: "masks",
                       compression: Self.maskCompression, chunks: [1, size.height, size.width])
        try file.describe("masks", "binary masks at original resolution (1 foreground), one per chunk", layout: "MHW")
        try file.write(lowresLogits, to: "lowres_logits")
        try file.describe("lowres_logits", "decoder mask logits before upsampling and thresholding", layout: "MHW")
        try file.write(iouPredictions, shape: [count], to: "iou_predictions")
        try file.describe("iou_predictions", "decoder's predicted IoU of each mask")
        try file.write(stabilityScores, shape: [count], to: "stability_scores")
        try file.describe("stability_scores", "SAM stability score: IoU of the masks thresholded at threshold+offset and threshold-offset (offset in parameters)")
        try file.write(promptSet, shape: [count], to: "prompt_set")
        try file.describe("prompt_set", "index into set_names of the prompt set that produced each mask")
        try file.write(maskIndex, shape: [count], to: "mask_index")
        try file.describe("mask_index", "index of each mask among its prompt set's outputs")
        try file.write(setNames, to: "set_names")
        try file.describe("set_names", "object name of each prompt set, or empty")
        try file.write(setSkipped.map { $0 ? UInt8(1) : 0 }, shape: [setSkipped.count], to: "set_skipped")
        try file.describe("set_skipped", "1 when the prompt set was empty (object not localised) and nothing was decoded for it")
        try file.commit()
    }

    public static func read(from path: String) throws -> MasksArtifact {
        let file = try HDF5File(readingAt: path)
        try requireSchema(file, schema)
        let provenance = try Provenance.read(from: file)
        let size = try file.requiredSize("original_size")
        let count = try file.requireShape("masks", [("M", nil), ("H", size.height), ("W", size.width)], holding: .integers)[0]
        try file.requireShape("lowres_logits", [("M", count), ("h", lowResolutionShape[0]), ("w", lowResolutionShape[1])],
                              holding: .floats)
        for name in ["iou_predictions", "stability_scores"] { try file.requireShape(name, [("M", count)], holding: .floats) }
        for name in ["prompt_set", "mask_index"] { try file.requireShape(name, [("M", count)], holding: .integers) }
        try file.requireShape("set_names", [("S", nil)], holding: .strings)
        let names = try file.readStrings("set_names")
        var skipped: [UInt8]?
        if file.exists("set_skipped") {
            try file.requireShape("set_skipped", [("S", names.count)], holding: .integers)
            skipped = try file.readUInt8("set_skipped").values
        }
        let multimask = try file.requiredInt("multimask")
        guard multimask == 0 || multimask == 1 else { throw file.invalid("root attribute \"multimask\" is \(multimask), expected 0 or 1") }
        let artifact = MasksArtifact(
            provenance: provenance, originalSize: size, multimask: multimask == 1,
            maskThreshold: try file.requiredDouble("mask_threshold"),
            thresholdRule: try file.requiredChoice("threshold_rule", among: thresholdRules),
            embeddingFile: try file.requiredString("embedding_file"),
            embeddingSHA256: try file.requiredString("embedding_sha256"),
            masks: try file.readUInt8("masks").values,
            lowresLogits: try file.readTensor("lowres_logits"),
            iouPredictions: try file.readTensor("iou_predictions").data,
            stabilityScores: try file.readTensor("stability_scores").data,
            promptSet: try file.readInt32("prompt_set").values,
            maskIndex: try file.readInt32("mask_index").values,
            setNames: names, setSkipped: try skipped.map { try $0.enumerated().map { index, flag in
                guard flag <= 1 else { throw file.invalid("set_skipped[\(index)] is \(flag), expected 0 or 1") }
                return flag == 1
            } },
            modelFamily: try file.attributeString("model_family"),
            refinementIteration: try file.attributeInt("refinement_iteration"),
            prompts: try file.hasAttribute("prompts_file")
                ? PromptsRecord(file: try file.requiredString("prompts_file"), sha256: try file.requiredString("prompts_sha256"),
                                commandLine: try file.requiredString("command_line_prompts"))
                : nil)
        try artifact.validate(path)
        return artifact
    }

    private func validate(_ path: String) throws {
        let count = maskCount, plane = originalSize.height * originalSize.width
        guard originalSize.height > 0, originalSize.width > 0 else { throw invalidArtifact(path, "original size \(originalSize) is empty") }
        guard masks.count == count * plane else {
            throw invalidArtifact(path, "\(masks.count) mask bytes do not make \(count) masks of \(originalSize)")
        }
        guard lowresLogits.shape == [count] + Self.lowResolutionShape else {
            throw invalidArtifact(path, "low-res logits have shape \(lowresLogits.shape), expected \([count] + Self.lowResolutionShape)")
        }
        guard stabilityScores.count == count, promptSet.count == count, maskIndex.count == count else {
            throw invalidArtifact(path, "per-mask arrays disagree: \(count) IoU predictions, \(stabilityScores.count) stability scores, \(promptSet.count) prompt_set and \(maskIndex.count) mask_index entries")
        }
        if let index = promptSet.firstIndex(where: { !(0..<Int32(setNames.count)).contains($0) }) {
            throw invalidArtifact(path, "mask \(index) refers to prompt set \(promptSet[index]) but there are \(setNames.count) sets")
        }
        guard setSkipped.count == setNames.count else {
            throw invalidArtifact(path, "set_skipped has \(setSkipped.count) entries for \(setNames.count) prompt sets")
        }
        if let index = promptSet.firstIndex(where: { setSkipped[Int($0)] }) {
            throw invalidArtifact(path, "mask \(index) comes from prompt set \(promptSet[index]), which is marked skipped")
        }
        for (dataset, values, shape) in [("lowres_logits", lowresLogits.data, lowresLogits.shape),
                                         ("iou_predictions", iouPredictions, [count]), ("stability_scores", stabilityScores, [count])] {
            if let problem = HDF5File.nonFiniteProblem(values, shape: shape, dataset: dataset) { throw invalidArtifact(path, problem) }
        }
        if let index = maskIndex.firstIndex(where: { $0 < 0 }) {
            throw invalidArtifact(path, "mask \(index) has negative mask_index \(maskIndex[index])")
        }
        let nonBinary = masks.withUnsafeBufferPointer { pixels in pixels.firstIndex { $0 > 1 } }
        if let position = nonBinary {
            throw invalidArtifact(path, "mask \(position / plane) holds the value \(masks[position]); masks must be 0 or 1")
        }
        guard maskThreshold.isFinite, Self.thresholdRules.contains(thresholdRule) else {
            throw invalidArtifact(path, "threshold \(maskThreshold) with rule \"\(thresholdRule)\" is invalid (rule must be > or >=)")
        }
    }
}

import Artifacts
import Checkpoints
import Foundation
import Geometry
import Imaging
import Tokenizers
import VLMModels

/// Object listing: photo → the VLM's answer to "list the objects" → `vlsam.objects` artifact.
public struct ListStage {
    public struct Options: Codable, Equatable, Sendable {
        public var prompt: String = "List all the objects in this image."
        /// nil: the processor configuration's default (splitting on for SmolVLM).
        public var imageSplitting: Bool?
        public var maxNewTokens: Int = 64
        /// Open-vocabulary mode: these names are teacher-forced as the answer instead of generating.
        public var objects: [String]?

        public init() {}
    }

    /// The model folder, opened once: model, tokenizer, template, processor, stop tokens, weights identity.
    public let bundle: SmolVLMBundle
    public var modelDirectory: String { bundle.directory }

    public init(modelDirectory: String) throws {
        bundle = try SmolVLMBundle(directory: modelDirectory)
    }

    public init(bundle: SmolVLMBundle) {
        self.bundle = bundle
    }

    /// The `parameters` its artifacts record for `options` (the splitting default resolved), so a
    /// driver can tell whether an existing artifact was made with them.
    public func recordedParameters(_ options: Options) throws -> String {
        var parameters = options
        parameters.imageSplitting = options.imageSplitting ?? bundle.processor.doImageSplitting
        return try Provenance.json(parameters)
    }

    /// Lists the objects of one photo and writes the artifact atomically.
    @discardableResult
    public func run(image imagePath: String, output: String, options: Options,
                    progress: ((String) -> Void)? = nil) throws -> ObjectsArtifact {
        try requireOutput(output, differentFrom: [("image", imagePath)] + modelFolderInputs(bundle.directory))
        let photo = try decodeImage(atPath: imagePath)
        let tokenizer = bundle.tokenizer
        let forced = options.objects.map { names in
            tokenizer.encode(" " + names.joined(separator: ", ")) + [bundle.stopTokens.min()!]
        }
        let start = Date()
        // The connector output is kept in the artifact, so the attention stage never reruns the
        // vision tower. The prompt's tiles (51 MB for a split 1800×1200 photo) are dropped with
        // the prompt once it is encoded, before the language model's cache fills.
        let (promptText, ids, splitting, tileCount, layout, features) = try {
            let prompt = try bundle.prompt(options.prompt, image: photo, splitting: options.imageSplitting)
            return (prompt.text, prompt.ids, prompt.splitting, prompt.image.tileCount, prompt.layout,
                    bundle.model.imageFeatures(prompt.image.tiles))
        }()
        // A teacher-forced answer is known already: the language model has nothing to add here
        // (the attention stage runs it over prompt and answer).
        let answer = try forced ?? bundle.model.generate(ids: ids, imageFeatures: features, maxNewTokens: options.maxNewTokens,
                                                         stopTokens: bundle.stopTokens).tokens
        let seconds = Date().timeIntervalSince(start)
        progress?(String(format: "%d prompt tokens, %d tiles, %d answer tokens in %.1f s", ids.count,
                         tileCount, answer.count, seconds))

        let text = tokenizer.decode(answer, skipSpecialTokens: true)
        let byteLengths = answer.map { tokenizer.isSpecialToken($0) ? 0 : tokenizer.bytes(of: $0).count }
        let objects = parseObjectList(text).map { parsed in
            ObjectsArtifact.Object(name: parsed.name, spans: parsed.byteRanges.map { range in
                let span = tokenSpan(covering: range, tokenByteLengths: byteLengths)
                return (ids.count + span.lowerBound) ..< (ids.count + span.upperBound)
            })
        }

        let tiles = layout.tiles.map { t in
            ObjectsArtifact.Tile(row: t.row, col: t.col,
                                 rect: [t.rectInOriginal.x0, t.rectInOriginal.y0, t.rectInOriginal.x1, t.rectInOriginal.y1])
        }
        let artifact = ObjectsArtifact(
            provenance: Provenance(producer: "vlsam-list", modelName: bundle.name,
                                   checkpointPath: bundle.weightsPath, checkpointSHA256: bundle.weightsSHA256,
                                   sourceImage: imagePath, sourceImageSHA256: try sha256Hex(ofFile: imagePath),
                                   parameters: try recordedParameters(options)),
            originalSize: ImageSize(height: photo.height, width: photo.width),
            mode: forced == nil ? "generated" : "teacher_forced", imageSplitting: splitting,
            promptText: promptText, inputIDs: ids, imageTokenPositions: layout.positions,
            imageTokenTile: layout.positions.indices.map(layout.tile(ofToken:)),
            imageTokenCell: layout.positions.indices.map(layout.cell(ofToken:)),
            gridSide: layout.gridSide, tiles: tiles, generatedIDs: answer, generatedText: text, objects: objects,
            imageFeatures: features)
        try artifact.write(to: output)
        return artifact
    }
}

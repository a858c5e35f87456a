import Artifacts
import Checkpoints
import Foundation
import Imaging
import Tokenizers
import VLMModels

/// Object listing: photo → the VLM's answer to "list the objects" → `vlsam.objects` artifact.
public struct ListStage {
    public struct Options: Codable {
        public var prompt: String = "List all the objects in this image."
        /// nil: the processor configuration's default (splitting on for SmolVLM).
        public var imageSplitting: Bool?
        public var maxNewTokens: Int = 64
        /// Open-vocabulary mode: these names are teacher-forced as the answer instead of generating.
        public var objects: [String]?

        public init() {}
    }

    public let modelDirectory: String
    public let model: SmolVLM
    public let tokenizer: BPETokenizer
    public let template: ChatTemplate
    public let processor: Idefics3ImageProcessor
    /// Tokens that end the answer (`<end_of_utterance>` for SmolVLM).
    public let stopTokens: Set<Int>
    let weightsPath: String
    let weightsSHA256: String

    public init(modelDirectory: String) throws {
        let file = { (name: String) in (modelDirectory as NSString).appendingPathComponent(name) }
        for required in ["config.json", "tokenizer.json", "preprocessor_config.json"]
        where !FileManager.default.fileExists(atPath: file(required)) {
            throw StageError(file(required), "missing (the model directory needs config.json, tokenizer.json, " +
                             "preprocessor_config.json, a chat template and the weights)")
        }
        self.modelDirectory = modelDirectory
        tokenizer = try BPETokenizer(tokenizerJSON: file("tokenizer.json"))
        model = try SmolVLM(directory: modelDirectory)
        if model.config.text.vocabSize < tokenizer.vocabularySize {
            throw StageError(file("config.json"), "vocab_size \(model.config.text.vocabSize) is smaller than the " +
                             "tokenizer's \(tokenizer.vocabularySize) tokens")
        }
        template = try Self.chatTemplate(in: modelDirectory)
        let processorConfig = FileManager.default.fileExists(atPath: file("processor_config.json")) ? file("processor_config.json") : nil
        processor = try Idefics3ImageProcessor(configPath: file("preprocessor_config.json"), processorConfigPath: processorConfig)
        stopTokens = try Self.stopTokens(in: modelDirectory, tokenizer: tokenizer)
        weightsPath = FileManager.default.fileExists(atPath: file("model.safetensors"))
            ? file("model.safetensors") : file("model.safetensors.index.json")
        weightsSHA256 = try sha256Hex(ofFile: weightsPath)
    }

    static func chatTemplate(in directory: String) throws -> ChatTemplate {
        let path = (directory as NSString).appendingPathComponent("chat_template.json")
        if FileManager.default.fileExists(atPath: path) { return try ChatTemplate(jsonFile: path) }
        let config = (directory as NSString).appendingPathComponent("tokenizer_config.json")
        guard let data = FileManager.default.contents(atPath: config),
              let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let source = root["chat_template"] as? String else {
            throw StageError(directory, "no chat template (chat_template.json or tokenizer_config.json's chat_template)")
        }
        return try ChatTemplate(jinjaSource: source, source: config)
    }

    /// generation_config.json's eos_token_id (an id or a list), else `<end_of_utterance>`.
    static func stopTokens(in directory: String, tokenizer: BPETokenizer) throws -> Set<Int> {
        let path = (directory as NSString).appendingPathComponent("generation_config.json")
        if let data = FileManager.default.contents(atPath: path),
           let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            if let id = root["eos_token_id"] as? Int { return [id] }
            if let ids = root["eos_token_id"] as? [Int], !ids.isEmpty { return Set(ids) }
        }
        guard let id = tokenizer.id(for: "<end_of_utterance>") else {
            throw StageError(directory, "no eos_token_id in generation_config.json and no <end_of_utterance> token")
        }
        return [id]
    }

    /// Lists the objects of one photo and writes the artifact atomically.
    @discardableResult
    public func run(image imagePath: String, output: String, options: Options,
                    progress: ((String) -> Void)? = nil) throws -> ObjectsArtifact {
        let photo = try decodeImage(atPath: imagePath)
        var processor = self.processor
        if let split = options.imageSplitting { processor.doImageSplitting = split }
        let processed = try processor.process(photo)
        let prompt = try template.render([ChatMessage(role: "user", content: [.image, .text(options.prompt)])],
                                         addGenerationPrompt: true)
        let ids = tokenizer.encode(try expandImageTokens(in: prompt, rows: processed.rows, cols: processed.cols,
                                                         imageSeqLen: processor.imageSeqLen))

        let forced = options.objects.map { names in
            tokenizer.encode(" " + names.joined(separator: ", ")) + [stopTokens.min()!]
        }
        let start = Date()
        let generation = try model.generate(ids: ids, tiles: processed.tiles, maxNewTokens: options.maxNewTokens,
                                            stopTokens: stopTokens, forcedTokens: forced)
        let seconds = Date().timeIntervalSince(start)
        progress?(String(format: "%d prompt tokens, %d tiles, %d answer tokens in %.1f s", ids.count,
                         processed.tileCount, generation.tokens.count, seconds))

        let text = tokenizer.decode(generation.tokens, skipSpecialTokens: true)
        let byteLengths = generation.tokens.map { tokenizer.isSpecialToken($0) ? 0 : tokenizer.bytes(of: $0).count }
        let objects = parseObjectList(text).map { parsed in
            ObjectsArtifact.Object(name: parsed.name, spans: parsed.byteRanges.map { range in
                let span = tokenSpan(covering: range, tokenByteLengths: byteLengths)
                return (ids.count + span.lowerBound) ..< (ids.count + span.upperBound)
            })
        }

        let imagePositions = ids.indices.filter { ids[$0] == model.config.imageTokenID }
        let perTile = model.config.imageTokensPerTile
        let side = Int(Double(perTile).squareRoot())
        let tiles = processed.tileGeometry.map { t in
            ObjectsArtifact.Tile(row: t.row, col: t.col,
                                 rect: [t.rectInOriginal.x0, t.rectInOriginal.y0, t.rectInOriginal.x1, t.rectInOriginal.y1])
        }
        var parameters = options
        parameters.imageSplitting = processor.doImageSplitting
        let artifact = ObjectsArtifact(
            provenance: Provenance(producer: "vlsam-list", modelName: (modelDirectory as NSString).lastPathComponent,
                                   checkpointPath: weightsPath, checkpointSHA256: weightsSHA256,
                                   sourceImage: imagePath, sourceImageSHA256: try sha256Hex(ofFile: imagePath),
                                   parameters: try Provenance.json(parameters)),
            originalSize: ImageSize(height: photo.height, width: photo.width),
            mode: forced == nil ? "generated" : "teacher_forced", imageSplitting: processor.doImageSplitting,
            promptText: prompt, inputIDs: ids, imageTokenPositions: imagePositions,
            imageTokenTile: imagePositions.indices.map { $0 / perTile },
            imageTokenCell: imagePositions.indices.map { (($0 % perTile) / side, ($0 % perTile) % side) },
            gridSide: side, tiles: tiles, generatedIDs: generation.tokens, generatedText: text, objects: objects)
        try artifact.write(to: output)
        return artifact
    }
}

import Checkpoints
import Foundation
import Imaging
import TensorMath
import Tokenizers

/// A SmolVLM model folder opened as a whole: the network, its tokenizer, chat template, image
/// processor and stop tokens, the weights file that artifacts name in their provenance, and the
/// layout that maps every image token to a tile, a cell of the tile's token grid and a rectangle
/// of the original image. The listing stage, the attention stage and the benchmark all open a
/// model through this type, so none of them has its own idea of how a prompt is built.
///
/// Every error names the file at fault (`ModelConfigurationError`, `ImageProcessorError`,
/// `CheckpointError`, `TokenizerError`: all print as one line "file: problem").
public struct SmolVLMBundle {
    public let directory: String
    public let model: SmolVLM
    public let tokenizer: BPETokenizer
    public let template: ChatTemplate
    public let processor: Idefics3ImageProcessor
    /// Tokens that end the answer (generation_config.json's eos_token_id, else `<end_of_utterance>`).
    public let stopTokens: Set<Int>
    /// `model.safetensors`, or `model.safetensors.index.json` for sharded weights.
    public let weightsPath: String
    /// Lowercase hex SHA-256 of `weightsPath`.
    public let weightsSHA256: String

    /// The folder's name, recorded as the model name in artifacts.
    public var name: String { (directory as NSString).lastPathComponent }
    public var config: SmolVLMConfig { model.config }

    /// Opens `directory`: config.json, tokenizer.json, preprocessor_config.json (and
    /// processor_config.json when present), chat_template.json or tokenizer_config.json's
    /// chat_template, generation_config.json when present, and the weights.
    public init(directory: String) throws {
        let file = { (name: String) in (directory as NSString).appendingPathComponent(name) }
        for required in ["config.json", "tokenizer.json", "preprocessor_config.json"]
        where !FileManager.default.fileExists(atPath: file(required)) {
            throw ModelConfigurationError(file(required), "missing (the model directory needs config.json, tokenizer.json, " +
                                          "preprocessor_config.json, a chat template and the weights)")
        }
        self.directory = directory
        tokenizer = try BPETokenizer(tokenizerJSON: file("tokenizer.json"))
        model = try SmolVLM(directory: directory)
        if model.config.text.vocabSize < tokenizer.vocabularySize {
            throw ModelConfigurationError(file("config.json"), "vocab_size \(model.config.text.vocabSize) is smaller than the " +
                                          "tokenizer's \(tokenizer.vocabularySize) tokens")
        }
        template = try Self.chatTemplate(in: directory)
        let processorConfig = FileManager.default.fileExists(atPath: file("processor_config.json")) ? file("processor_config.json") : nil
        processor = try Idefics3ImageProcessor(configPath: file("preprocessor_config.json"), processorConfigPath: processorConfig)
        if processor.imageSeqLen != model.config.imageTokensPerTile {
            throw ModelConfigurationError(processorConfig ?? file("preprocessor_config.json"),
                                          "image_seq_len \(processor.imageSeqLen) disagrees with the model's " +
                                          "\(model.config.imageTokensPerTile) image tokens per tile (config.json)")
        }
        stopTokens = try Self.stopTokens(in: directory, tokenizer: tokenizer)
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
            throw ModelConfigurationError(directory, "no chat template (chat_template.json or tokenizer_config.json's chat_template)")
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
            throw ModelConfigurationError(directory, "no eos_token_id in generation_config.json and no <end_of_utterance> token")
        }
        return [id]
    }

    // MARK: - Prompts

    /// A one-image question, ready for the model.
    public struct Prompt: Sendable {
        /// The chat-template rendering, before the `<image>` expansion.
        public let text: String
        /// Token ids with the image tokens expanded.
        public let ids: [Int]
        public let image: ProcessedImage
        /// The splitting setting the image was processed with.
        public let splitting: Bool
        public let layout: ImageTokenLayout
    }

    /// Processes `photo` (splitting nil: the processor configuration's default) and builds the
    /// user turn "<image>question" with the generation prompt.
    public func prompt(_ question: String, image photo: RGBImage, splitting: Bool? = nil) throws -> Prompt {
        var processor = self.processor
        if let splitting { processor.doImageSplitting = splitting }
        let processed = try processor.process(photo)
        let text = try template.render([ChatMessage(role: "user", content: [.image, .text(question)])], addGenerationPrompt: true)
        let ids = tokenizer.encode(try expandImageTokens(in: text, rows: processed.rows, cols: processed.cols,
                                                         imageSeqLen: processor.imageSeqLen))
        let layout = try ImageTokenLayout(positions: imageTokenPositions(in: ids), gridSide: processed.tokensPerTileSide,
                                          tiles: processed.tileGeometry, source: "prompt")
        return Prompt(text: text, ids: ids, image: processed, splitting: processor.doImageSplitting, layout: layout)
    }

    /// Sequence positions of the `<image>` tokens in `ids`.
    public func imageTokenPositions(in ids: [Int]) -> [Int] {
        ids.indices.filter { ids[$0] == model.config.imageTokenID }
    }

    // MARK: - Teacher-forced attention (the attention stage)

    /// Checks that a listing (an objects artifact's contents, read from `file`) was made with
    /// this model: every id inside the vocabulary, the image tokens a whole number of tiles of
    /// the model's tokens per tile (and at the positions and grid side recorded, when given), and
    /// image features of [image tokens, text hidden size], finite. Throws `ModelConfigurationError`
    /// "file: problem".
    public func checkListing(inputIDs: [Int], generatedIDs: [Int], imageTokenPositions recorded: [Int]? = nil,
                             gridSide: Int? = nil, imageFeatures: Tensor?, file: String) throws {
        func fail(_ problem: String) -> ModelConfigurationError {
            ModelConfigurationError(file, problem + " (made with another model than \(name)?)")
        }
        let vocabulary = model.config.text.vocabSize
        for (what, ids) in [("input", inputIDs), ("generated", generatedIDs)] {
            if let i = ids.firstIndex(where: { $0 < 0 || $0 >= vocabulary }) {
                throw fail("\(what) token \(i) has id \(ids[i]), outside the model's vocabulary of \(vocabulary) tokens")
            }
        }
        let positions = imageTokenPositions(in: inputIDs), perTile = model.config.imageTokensPerTile
        if let recorded, recorded != positions {
            throw fail("the recorded image token positions (\(recorded.count)) are not where the input ids hold " +
                       "<image> (id \(model.config.imageTokenID), \(positions.count) tokens)")
        }
        guard positions.count % perTile == 0 else {
            throw fail("\(positions.count) image tokens are not a whole number of tiles of \(perTile) tokens")
        }
        if let gridSide, gridSide * gridSide != perTile {
            throw fail("grid side \(gridSide) does not give the model's \(perTile) image tokens per tile")
        }
        guard let imageFeatures else { return }
        let hidden = model.config.text.hiddenSize
        guard imageFeatures.shape.count == 2, imageFeatures.shape[1] == hidden else {
            throw fail("image features have shape \(imageFeatures.shape), but the model's text hidden size is \(hidden)")
        }
        guard imageFeatures.shape[0] == positions.count else {
            throw fail("\(imageFeatures.shape[0]) image feature rows for \(positions.count) image tokens")
        }
        guard !imageFeatures.hasNonFinite else { throw ModelConfigurationError(file, "image features contain NaN or infinite values") }
    }

    /// One causal forward of the language model over x = inputIDs ++ generatedIDs, with the
    /// listing's stored image features (connector output, one row per image token of the prompt)
    /// in place of the prompt's image tokens, so the vision tower does not run again. `observer` receives every
    /// layer's post-RoPE queries and keys of all T = S + G positions. The listing is checked
    /// first (`checkListing`); errors name `file`. Returns the final-norm hidden states [T, hidden].
    @discardableResult
    public func teacherForcedAttention(inputIDs: [Int], generatedIDs: [Int], imageFeatures: Tensor, file: String,
                                       observer: (LayerAttention) -> Void) throws -> Tensor {
        try checkListing(inputIDs: inputIDs, generatedIDs: generatedIDs, imageFeatures: imageFeatures, file: file)
        return try model.teacherForcedForward(promptIDs: inputIDs, answerIDs: generatedIDs, imageFeatures: imageFeatures,
                                              attention: observer)
    }
}

/// Where the image tokens of a SmolVLM sequence sit and what they see. Image token k (the k-th
/// `<image>` of the sequence) belongs to tile k / side², in the processor's tile order (row-major
/// crops, then the global image), and to cell ((k mod side²) / side, k mod side) of that tile's
/// side × side token grid; the pixel shuffle merges an even block of patches into each token, so
/// the cell covers 1/side of the tile's extent per axis.
public struct ImageTokenLayout: Sendable, Equatable {
    /// Sequence position of each image token.
    public let positions: [Int]
    /// Side of each tile's token grid (8 for SmolVLM: 64 tokens per tile).
    public let gridSide: Int
    /// Each tile's row/column and extent in original-image pixels, in tile order.
    public let tiles: [TileGeometry]

    public var tokensPerTile: Int { gridSide * gridSide }

    /// Throws unless the positions fill every tile exactly (errors name `source`).
    public init(positions: [Int], gridSide: Int, tiles: [TileGeometry], source: String) throws {
        guard gridSide > 0, positions.count == tiles.count * gridSide * gridSide else {
            throw ModelConfigurationError(source, "\(positions.count) image tokens do not fill \(tiles.count) tiles of " +
                                          "\(gridSide)x\(gridSide) tokens")
        }
        self.positions = positions
        self.gridSide = gridSide
        self.tiles = tiles
    }

    /// Tile index of image token k.
    public func tile(ofToken k: Int) -> Int { k / tokensPerTile }

    /// (row, col) of image token k in its tile's token grid.
    public func cell(ofToken k: Int) -> (row: Int, col: Int) {
        let inTile = k % tokensPerTile
        return (inTile / gridSide, inTile % gridSide)
    }

    /// The original-image rectangle image token k sees.
    public func rectInOriginal(token k: Int) -> ImageRect {
        let (row, col) = cell(ofToken: k)
        return tiles[tile(ofToken: k)].rectInOriginal.cell(row: row, col: col, side: gridSide)
    }
}

extension ImageRect {
    /// Cell (row, col) of this rectangle cut into side × side equal cells.
    public func cell(row: Int, col: Int, side: Int) -> ImageRect {
        let width = (x1 - x0) / Double(side), height = (y1 - y0) / Double(side)
        return ImageRect(x0: x0 + Double(col) * width, y0: y0 + Double(row) * height,
                         x1: x0 + Double(col + 1) * width, y1: y0 + Double(row + 1) * height)
    }
}

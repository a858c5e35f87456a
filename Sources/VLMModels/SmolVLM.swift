import Checkpoints
import Foundation
import TensorMath

/// SmolVLM (Idefics3): SigLIP vision tower → pixel-shuffle connector → LLaMA decoder.
public struct SmolVLM {
    public let config: SmolVLMConfig
    public let vision: SigLIPVisionEncoder
    public let connector: PixelShuffleConnector
    public let decoder: LlamaDecoder

    /// Loads `config.json` and `model.safetensors` (or a sharded `model.safetensors.index.json`)
    /// from a Hugging Face model directory. bfloat16 and float16 matrices stay 16-bit unless
    /// `keepingHalfPrecision` is false (then every weight is widened to float32 on load; the
    /// results are the same bits either way).
    public init(directory: String, keepingHalfPrecision: Bool = true) throws {
        let config = try SmolVLMConfig(contentsOf: (directory as NSString).appendingPathComponent("config.json"))
        try self.init(config: config, stateDict: try loadHuggingFaceWeights(directory: directory,
                                                                             keepingHalfPrecision: keepingHalfPrecision))
    }

    /// Loading is strict, as `load_state_dict` is: every tensor the configuration implies must be
    /// present with its shape, and the weights may hold no other tensor (a layer beyond the
    /// configured count, a renamed tensor).
    public init(config: SmolVLMConfig, stateDict: StateDict) throws {
        self.config = config
        let w = WeightReader(stateDict)
        if let embedding = stateDict.shape("model.text_model.embed_tokens.weight"), embedding.first != config.text.vocabSize {
            throw CheckpointError(path: stateDict.source, problem: "the config's vocab_size \(config.text.vocabSize) " +
                                 "disagrees with the weights (embed_tokens has \(embedding.first ?? 0) rows)")
        }
        vision = try SigLIPVisionEncoder(w.scoped("model.vision_model"), config: config.vision)
        connector = try PixelShuffleConnector(w.scoped("model.connector"), scale: config.scaleFactor,
                                              visionWidth: config.vision.hiddenSize, textWidth: config.text.hiddenSize)
        let t = config.text
        decoder = try LlamaDecoder(w.scoped("model.text_model"),
                                   lmHead: stateDict.contains("lm_head.weight") ? try w.matrix("lm_head.weight", shape: [t.vocabSize, t.hiddenSize]) : nil,
                                   config: t)
        try w.requireEveryTensorUsed(by: "the model config.json describes (\(config.vision.layers) vision and \(t.layers) text layers)")
    }

    /// Connector outputs of every tile, concatenated in tile order: [tiles · 64, text hidden].
    /// `trace` receives per tile t `vision_last_hidden_state_t` and `connector_output_t`.
    public func imageFeatures(_ tiles: Tensor, trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        let count = tiles.shape[0]
        var features: [Float] = []
        for t in 0..<count {
            let tileTrace = trace.map { f in { (name: String, x: Tensor) in f(t == 0 ? name : "\(name)_tile\(t)", x) } }
            let hidden = vision(tiles[t], trace: tileTrace)
            trace?("vision_last_hidden_state_\(t)", hidden)
            let projected = connector(hidden, trace: tileTrace)
            trace?("connector_output_\(t)", projected)
            features += projected.data
        }
        return Tensor(shape: [features.count / config.text.hiddenSize, config.text.hiddenSize], data: features)
    }

    /// Token embeddings with the k-th `<image>` token's row replaced by the k-th image feature row.
    public func inputEmbeddings(ids: [Int], imageFeatures: Tensor?) throws -> Tensor {
        var embeddings = decoder.embed(ids)
        let imagePositions = ids.indices.filter { ids[$0] == config.imageTokenID }
        let rows = imageFeatures?.shape[0] ?? 0
        guard imagePositions.count == rows else {
            throw ModelConfigurationError("prompt", "\(imagePositions.count) <image> tokens but \(rows) image feature rows")
        }
        let d = config.text.hiddenSize
        if let imageFeatures {
            embeddings.data.withUnsafeMutableBufferPointer { e in
                imageFeatures.data.withUnsafeBufferPointer { f in
                    for (k, position) in imagePositions.enumerated() {
                        (e.baseAddress! + position * d).update(from: f.baseAddress! + k * d, count: d)
                    }
                }
            }
        }
        return embeddings
    }

    /// Prefills the prompt (with the image tiles, if any) and decodes greedily until a stop
    /// token or `maxNewTokens`. With `forcedTokens`, those tokens are fed instead of the argmax
    /// (teacher forcing) and generation ends after them.
    public func generate(ids: [Int], tiles: Tensor?, maxNewTokens: Int, stopTokens: Set<Int>,
                         forcedTokens: [Int]? = nil, onToken: ((Int) -> Void)? = nil,
                         trace: ((String, Tensor) -> Void)? = nil) throws -> Generation {
        try generate(ids: ids, imageFeatures: tiles.map { imageFeatures($0, trace: trace) }, maxNewTokens: maxNewTokens,
                     stopTokens: stopTokens, forcedTokens: forcedTokens, onToken: onToken, trace: trace)
    }

    /// `generate(ids:tiles:…)` from image features already computed (`imageFeatures(_:)`), so a
    /// caller that keeps them runs the vision tower once.
    public func generate(ids: [Int], imageFeatures features: Tensor?, maxNewTokens: Int, stopTokens: Set<Int>,
                         forcedTokens: [Int]? = nil, onToken: ((Int) -> Void)? = nil,
                         trace: ((String, Tensor) -> Void)? = nil) throws -> Generation {
        let embeddings = try inputEmbeddings(ids: ids, imageFeatures: features)
        trace?("text_inputs_embeds", embeddings)
        return decoder.generate(embeddings: embeddings, maxNewTokens: maxNewTokens, stopTokens: stopTokens,
                                forcedTokens: forcedTokens, onToken: onToken, trace: trace)
    }

    /// One causal forward over a whole sequence x = promptIDs ++ answerIDs, handing `attention`
    /// every layer's post-RoPE queries and keys of all positions. The k-th `<image>` token of the
    /// prompt is embedded as row k of `imageFeatures` [N, text hidden] (connector output, as
    /// `imageFeatures(_:)` returns it, so the vision tower need not run again); answer tokens are
    /// embedded as text, as in generation. Returns the final-norm hidden states [T, hidden].
    @discardableResult
    public func teacherForcedForward(promptIDs: [Int], answerIDs: [Int], imageFeatures: Tensor?,
                                     attention: (LayerAttention) -> Void) throws -> Tensor {
        try checkVocabulary(promptIDs + answerIDs, vocabularySize: config.text.vocabSize, source: "ids")
        let d = config.text.hiddenSize
        if let imageFeatures, imageFeatures.shape.count != 2 || imageFeatures.shape[1] != d {
            throw ModelConfigurationError("image features", "shape \(imageFeatures.shape), expected [N, \(d)]")
        }
        let prompt = try inputEmbeddings(ids: promptIDs, imageFeatures: imageFeatures)
        let sequence = Tensor(shape: [promptIDs.count + answerIDs.count, d], data: prompt.data + decoder.embed(answerIDs).data)
        return decoder.teacherForcedForward(embeddings: sequence, attention: attention)
    }
}

/// Throws unless every id indexes the embedding matrix.
func checkVocabulary(_ ids: [Int], vocabularySize: Int, source: String) throws {
    if let position = ids.firstIndex(where: { $0 < 0 || $0 >= vocabularySize }) {
        throw ModelConfigurationError(source, "token id \(ids[position]) at position \(position) is outside the model's " +
                                      "vocabulary of \(vocabularySize) tokens")
    }
}

/// `model.safetensors`, or every shard named by `model.safetensors.index.json`, as one state dict
/// (bfloat16 and float16 tensors kept 16-bit when `keepingHalfPrecision`).
public func loadHuggingFaceWeights(directory: String, keepingHalfPrecision: Bool = false) throws -> StateDict {
    let single = (directory as NSString).appendingPathComponent("model.safetensors")
    if FileManager.default.fileExists(atPath: single) { return try loadSafetensors(single, keepingHalfPrecision: keepingHalfPrecision) }
    let index = (directory as NSString).appendingPathComponent("model.safetensors.index.json")
    guard let data = FileManager.default.contents(atPath: index) else {
        throw CheckpointError(path: directory, problem: "no model.safetensors or model.safetensors.index.json")
    }
    guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
          let weightMap = root["weight_map"] as? [String: String] else {
        throw CheckpointError(path: index, problem: "no weight_map object")
    }
    var entries: [(name: String, tensor: StoredTensor)] = []
    var shardOf: [String: String] = [:]
    for shard in Set(weightMap.values).sorted() {
        guard !shard.contains("/") else {
            throw CheckpointError(path: index, problem: "shard '\(shard)' is not a file name in the model folder")
        }
        let part = try loadSafetensors((directory as NSString).appendingPathComponent(shard), keepingHalfPrecision: keepingHalfPrecision)
        for name in part.keys {
            if let other = shardOf.updateValue(shard, forKey: name) {
                throw CheckpointError(path: index, tensor: name, problem: "tensor '\(name)' is stored in both \(other) and \(shard)")
            }
            entries.append((name, try part.stored(name)))
        }
    }
    return StateDict(source: index, stored: entries)
}

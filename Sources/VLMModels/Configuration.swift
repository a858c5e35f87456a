import Foundation

/// A configuration problem, one line naming the file.
public struct ModelConfigurationError: Error, CustomStringConvertible {
    public let file: String
    public let problem: String
    public init(_ file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }
    public var description: String { "\(file): \(problem)" }
}

/// The LLaMA-style text decoder's hyperparameters.
public struct LlamaConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var intermediateSize: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float
    public var vocabSize: Int
    /// The output projection reuses the token embedding matrix.
    public var tiedEmbeddings: Bool
    /// Longest sequence the model was made for (`max_position_embeddings`); nil when not given.
    public var contextLength: Int?

    public init(hiddenSize: Int, layers: Int, heads: Int, kvHeads: Int, headDim: Int, intermediateSize: Int,
                rmsNormEps: Float, ropeTheta: Float, vocabSize: Int, tiedEmbeddings: Bool, contextLength: Int? = nil) {
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.intermediateSize = intermediateSize
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.vocabSize = vocabSize
        self.tiedEmbeddings = tiedEmbeddings
        self.contextLength = contextLength
    }
}

/// The SigLIP vision tower's hyperparameters.
public struct VisionConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var patchSize: Int
    public var imageSize: Int
    public var layerNormEps: Float

    public var patchesPerSide: Int { imageSize / patchSize }
}

/// Idefics3 / SmolVLM `config.json`.
public struct SmolVLMConfig: Sendable, Equatable {
    public var vision: VisionConfig
    public var text: LlamaConfig
    public var scaleFactor: Int
    public var imageTokenID: Int

    /// Tokens each 512-pixel tile contributes after the pixel shuffle.
    public var imageTokensPerTile: Int {
        let side = vision.patchesPerSide / scaleFactor
        return side * side
    }

    public init(vision: VisionConfig, text: LlamaConfig, scaleFactor: Int, imageTokenID: Int) {
        self.vision = vision
        self.text = text
        self.scaleFactor = scaleFactor
        self.imageTokenID = imageTokenID
    }

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelConfigurationError(path, "missing or unreadable config.json")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelConfigurationError(path, "not a JSON object")
        }
        guard let v = root["vision_config"] as? [String: Any], let t = root["text_config"] as? [String: Any] else {
            throw ModelConfigurationError(path, "no vision_config/text_config (not an Idefics3/SmolVLM config)")
        }
        func int(_ d: [String: Any], _ key: String, _ section: String, default value: Int? = nil) throws -> Int {
            if let n = d[key] as? Int { return n }
            if let value { return value }
            throw ModelConfigurationError(path, "\(section).\(key) is missing or not an integer")
        }
        func float(_ d: [String: Any], _ key: String, _ section: String, default value: Double) throws -> Float {
            if let x = d[key] as? Double { return Float(x) }
            if let n = d[key] as? Int { return Float(n) }
            return Float(value)
        }
        let textHidden = try int(t, "hidden_size", "text_config")
        let heads = try int(t, "num_attention_heads", "text_config")
        vision = VisionConfig(
            hiddenSize: try int(v, "hidden_size", "vision_config"),
            layers: try int(v, "num_hidden_layers", "vision_config"),
            heads: try int(v, "num_attention_heads", "vision_config"),
            intermediateSize: try int(v, "intermediate_size", "vision_config"),
            patchSize: try int(v, "patch_size", "vision_config"),
            imageSize: try int(v, "image_size", "vision_config"),
            layerNormEps: try float(v, "layer_norm_eps", "vision_config", default: 1e-6))
        let tied = (root["tie_word_embeddings"] as? Bool) ?? (t["tie_word_embeddings"] as? Bool) ?? false
        text = LlamaConfig(
            hiddenSize: textHidden,
            layers: try int(t, "num_hidden_layers", "text_config"),
            heads: heads,
            kvHeads: try int(t, "num_key_value_heads", "text_config", default: heads),
            headDim: try int(t, "head_dim", "text_config", default: textHidden / heads),
            intermediateSize: try int(t, "intermediate_size", "text_config"),
            rmsNormEps: try float(t, "rms_norm_eps", "text_config", default: 1e-5),
            ropeTheta: try float(t, "rope_theta", "text_config", default: 10000),
            vocabSize: try int(root, "vocab_size", "config", default: try int(t, "vocab_size", "text_config")),
            tiedEmbeddings: tied, contextLength: t["max_position_embeddings"] as? Int)
        scaleFactor = try int(root, "scale_factor", "config", default: 2)
        imageTokenID = try int(root, "image_token_id", "config")
        if let act = v["hidden_act"] as? String, act != "gelu_pytorch_tanh" {
            throw ModelConfigurationError(path, "vision hidden_act \(act) is not supported (gelu_pytorch_tanh)")
        }
    }
}

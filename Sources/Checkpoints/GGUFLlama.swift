import TensorMath

/// LLaMA hyperparameters from a GGUF file's `llama.*` metadata.
public struct GGUFLlamaConfig: Sendable, Equatable {
    /// `block_count`: transformer layers.
    public let layerCount: Int
    /// `embedding_length`.
    public let hiddenSize: Int
    /// `feed_forward_length`: the gated MLP's inner size.
    public let intermediateSize: Int
    /// `attention.head_count`.
    public let attentionHeadCount: Int
    /// `attention.head_count_kv` (the query head count when absent: no grouping).
    public let keyValueHeadCount: Int
    /// `attention.key_length`, else `embedding_length / head_count`.
    public let headDim: Int
    /// `rope.dimension_count` (the head size when absent).
    public let ropeDimensionCount: Int
    /// `rope.freq_base` (10000 when absent, llama.cpp's default).
    public let ropeTheta: Float
    /// `attention.layer_norm_rms_epsilon`.
    public let rmsNormEpsilon: Float
    /// `context_length`.
    public let contextLength: Int
    /// `vocab_size`, else the number of tokenizer tokens.
    public let vocabSize: Int
    /// True when there is no `output.weight`: the LM head reuses `token_embd.weight`.
    public let tiedEmbeddings: Bool

    public init(_ file: GGUFFile) throws {
        let architecture = try file.string("general.architecture")
        guard architecture == "llama" else {
            throw CheckpointError(path: file.path, problem: "general.architecture is '\(architecture.oneLine())', not 'llama'")
        }
        func key(_ name: String) -> String { "llama." + name }
        func optionalInt(_ name: String) throws -> Int? {
            file.metadata[key(name)] == nil ? nil : try file.int(key(name))
        }
        func positive(_ name: String, _ value: Int) throws -> Int {
            guard value > 0 else { throw CheckpointError(path: file.path, problem: "\(key(name)) is \(value), expected a positive count") }
            return value
        }
        layerCount = try positive("block_count", file.int(key("block_count")))
        hiddenSize = try positive("embedding_length", file.int(key("embedding_length")))
        intermediateSize = try positive("feed_forward_length", file.int(key("feed_forward_length")))
        attentionHeadCount = try positive("attention.head_count", file.int(key("attention.head_count")))
        keyValueHeadCount = try positive("attention.head_count_kv", optionalInt("attention.head_count_kv") ?? attentionHeadCount)
        guard attentionHeadCount % keyValueHeadCount == 0 else {
            throw CheckpointError(path: file.path, problem: "\(attentionHeadCount) query heads cannot be grouped over \(keyValueHeadCount) key/value heads")
        }
        if let keyLength = try optionalInt("attention.key_length") {
            headDim = try positive("attention.key_length", keyLength)
        } else {
            guard hiddenSize % attentionHeadCount == 0 else {
                throw CheckpointError(path: file.path, problem: "embedding_length \(hiddenSize) is not a multiple of head_count \(attentionHeadCount)")
            }
            headDim = hiddenSize / attentionHeadCount
        }
        guard headDim % 2 == 0 else {
            throw CheckpointError(path: file.path, problem: "head size \(headDim) is odd; rotary embeddings need pairs")
        }
        ropeDimensionCount = try positive("rope.dimension_count", optionalInt("rope.dimension_count") ?? headDim)
        ropeTheta = Float(file.metadata[key("rope.freq_base")] == nil ? 10000 : try file.float(key("rope.freq_base")))
        rmsNormEpsilon = Float(try file.float(key("attention.layer_norm_rms_epsilon")))
        contextLength = try positive("context_length", file.int(key("context_length")))
        vocabSize = try positive("vocab_size", optionalInt("vocab_size") ?? file.strings("tokenizer.ggml.tokens").count)
        tiedEmbeddings = !file.contains("output.weight")
    }
}

/// The tokenizer as GGUF stores it (`tokenizer.ggml.*`), as plain arrays.
public struct GGUFTokenizerMetadata: Sendable, Equatable {
    /// `tokenizer.ggml.token_type` codes.
    public static let normalTokenType = 1, unknownTokenType = 2, controlTokenType = 3
    public static let userDefinedTokenType = 4, unusedTokenType = 5, byteTokenType = 6

    /// `tokenizer.ggml.model`, e.g. "gpt2" (byte-level BPE) or "llama" (SentencePiece).
    public let model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer's name, e.g. "smollm".
    public let preTokenizer: String?
    /// Token strings by id (byte-level BPE: in GPT-2's byte-to-unicode alphabet).
    public let tokens: [String]
    /// BPE merges "left right" in rank order (empty when the file has none).
    public let merges: [String]
    /// A token type code per id (empty when the file has none).
    public let tokenTypes: [Int]
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    public let unknownTokenID: Int?
    public let paddingTokenID: Int?
    public let addBOSToken: Bool?
    public let addSpacePrefix: Bool?
    /// `tokenizer.chat_template` (Jinja).
    public let chatTemplate: String?

    /// Ids whose type is CONTROL: special tokens matched whole and skipped when decoding.
    public var controlTokenIDs: [Int] {
        tokenTypes.indices.filter { tokenTypes[$0] == Self.controlTokenType }
    }

    public init(_ file: GGUFFile) throws {
        func has(_ key: String) -> Bool { file.metadata[key] != nil }
        model = try file.string("tokenizer.ggml.model")
        preTokenizer = has("tokenizer.ggml.pre") ? try file.string("tokenizer.ggml.pre") : nil
        tokens = try file.strings("tokenizer.ggml.tokens")
        merges = has("tokenizer.ggml.merges") ? try file.strings("tokenizer.ggml.merges") : []
        tokenTypes = has("tokenizer.ggml.token_type") ? try file.ints("tokenizer.ggml.token_type") : []
        guard tokenTypes.isEmpty || tokenTypes.count == tokens.count else {
            throw CheckpointError(path: file.path, problem: "tokenizer.ggml.token_type has \(grouped(tokenTypes.count)) entries for \(grouped(tokens.count)) tokens")
        }
        let tokenCount = tokens.count
        func tokenID(_ key: String) throws -> Int? {
            guard has(key) else { return nil }
            let id = try file.int(key)
            guard (0 ..< tokenCount).contains(id) else {
                throw CheckpointError(path: file.path, problem: "\(key) is \(id), outside the \(grouped(tokenCount)) tokens")
            }
            return id
        }
        bosTokenID = try tokenID("tokenizer.ggml.bos_token_id")
        eosTokenID = try tokenID("tokenizer.ggml.eos_token_id")
        unknownTokenID = try tokenID("tokenizer.ggml.unknown_token_id")
        paddingTokenID = try tokenID("tokenizer.ggml.padding_token_id")
        addBOSToken = has("tokenizer.ggml.add_bos_token") ? try file.bool("tokenizer.ggml.add_bos_token") : nil
        addSpacePrefix = has("tokenizer.ggml.add_space_prefix") ? try file.bool("tokenizer.ggml.add_space_prefix") : nil
        chatTemplate = has("tokenizer.chat_template") ? try file.string("tokenizer.chat_template") : nil
    }
}

/// Loads a LLaMA GGUF: every tensor dequantised to float32 under its Hugging Face name (with
/// the Q/K rows back in HF order), the hyperparameters and the tokenizer metadata.
public func loadGGUFLlama(_ path: String) throws -> (stateDict: StateDict, config: GGUFLlamaConfig, tokenizerMetadata: GGUFTokenizerMetadata) {
    let file = try GGUFFile(path: path)
    let config = try GGUFLlamaConfig(file)
    return (try file.llamaStateDict(config), config, try GGUFTokenizerMetadata(file))
}

extension GGUFFile {
    /// All tensors as float32: under Hugging Face names with Q/K rows un-permuted for a LLaMA
    /// file, under their GGUF names for any other architecture.
    public func stateDict() throws -> StateDict {
        if metadata["general.architecture"]?.stringValue == "llama" {
            return try llamaStateDict(GGUFLlamaConfig(self))
        }
        return StateDict(source: path, entries: try tensors.map { ($0.name, try tensor($0.name)) })
    }

    /// The tensors of a LLaMA file under Hugging Face `LlamaForCausalLM` names. llama.cpp's
    /// converter interleaves the two halves of every attn_q/attn_k head (HF row i + headDim/2
    /// becomes GGUF row 2i + 1) for its RoPE; this puts them back, so HF's rotate_half applies.
    public func llamaStateDict(_ config: GGUFLlamaConfig) throws -> StateDict {
        // Names and shapes first, so a wrong file fails before the slow part.
        let embedding = contains("token_embd.weight") ? try tensorInfo("token_embd.weight").shape : nil
        guard embedding == [config.vocabSize, config.hiddenSize] else {
            throw CheckpointError(path: path, problem: "token_embd.weight is \(embedding.map { "\($0)" } ?? "missing"), expected [\(config.vocabSize), \(config.hiddenSize)] (vocab × embedding_length)")
        }
        let plan = try tensors.map { info -> (info: GGUFTensorInfo, name: String, rotaryHeads: Int?) in
            let mapped = try huggingFaceLlamaName(info.name, layerCount: config.layerCount)
            guard let projection = mapped.rotary else { return (info, mapped.name, nil) }
            // Biases, when present, were permuted like the weight rows.
            let heads = projection == .query ? config.attentionHeadCount : config.keyValueHeadCount
            guard info.shape.count <= 2, info.shape[0] == heads * config.headDim else {
                throw CheckpointError(path: path, problem: "tensor '\(info.name.oneLine())' has shape \(info.shape), expected [\(heads * config.headDim), …] for \(heads) heads of \(config.headDim)")
            }
            return (info, mapped.name, heads)
        }
        return StateDict(source: path, entries: try plan.map { entry in
            var tensor = try tensor(entry.info.name)
            if let heads = entry.rotaryHeads { unpermuteRotaryRows(&tensor, heads: heads) }
            return (entry.name, tensor)
        })
    }

    private enum RotaryProjection { case query, key }

    /// The HF name of a GGUF LLaMA tensor, and which projection's rows need un-permuting.
    private func huggingFaceLlamaName(_ name: String, layerCount: Int) throws -> (name: String, rotary: RotaryProjection?) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let unknown = CheckpointError(path: path, problem: "tensor '\(name.oneLine())' has no Hugging Face LLaMA equivalent")
        guard let suffix = parts.last, suffix == "weight" || suffix == "bias" else { throw unknown }
        let topLevel = ["token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"]
        if parts.count == 2, let mapped = topLevel[parts[0]] {
            return ("\(mapped).\(suffix)", nil)
        }
        let perLayer: [String: (String, RotaryProjection?)] = [
            "attn_norm": ("input_layernorm", nil), "ffn_norm": ("post_attention_layernorm", nil),
            "attn_q": ("self_attn.q_proj", .query), "attn_k": ("self_attn.k_proj", .key),
            "attn_v": ("self_attn.v_proj", nil), "attn_output": ("self_attn.o_proj", nil),
            "ffn_gate": ("mlp.gate_proj", nil), "ffn_up": ("mlp.up_proj", nil), "ffn_down": ("mlp.down_proj", nil),
        ]
        guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), let (mapped, rotary) = perLayer[parts[2]] else {
            throw unknown
        }
        guard (0 ..< layerCount).contains(layer) else {
            throw CheckpointError(path: path, problem: "tensor '\(name.oneLine())' belongs to layer \(layer) but llama.block_count is \(layerCount)")
        }
        return ("model.layers.\(layer).\(mapped).\(suffix)", rotary)
    }
}

/// Undoes llama.cpp's rotary row interleave of a [heads·headDim, columns] projection (or its
/// [heads·headDim] bias) in place: within each head, HF row i is GGUF row 2i and HF row
/// i + headDim/2 is GGUF row 2i + 1.
func unpermuteRotaryRows(_ tensor: inout Tensor, heads: Int) {
    let rows = tensor.shape[0], columns = tensor.count / max(rows, 1)
    let headDim = rows / heads, half = headDim / 2
    withUnsafeTemporaryAllocation(of: Float.self, capacity: headDim * columns) { stored in
        tensor.data.withUnsafeMutableBufferPointer { data in
            for head in 0 ..< heads {
                let headRows = data.baseAddress! + head * headDim * columns
                stored.baseAddress!.update(from: headRows, count: headDim * columns)
                for hfRow in 0 ..< headDim {
                    let ggufRow = hfRow < half ? 2 * hfRow : 2 * (hfRow - half) + 1
                    (headRows + hfRow * columns).update(from: stored.baseAddress! + ggufRow * columns, count: columns)
                }
            }
        }
    }
}

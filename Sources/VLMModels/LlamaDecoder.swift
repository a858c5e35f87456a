import Checkpoints
import TensorMath

/// Keys and values of every layer for the positions seen so far, so each generated token costs
/// one position of work instead of the whole sequence.
public final class KVCache {
    /// Per layer, [length, kvHeads·headDim] row-major.
    var keys: [[Float]]
    var values: [[Float]]
    public private(set) var length = 0
    let width: Int

    public init(layers: Int, width: Int, reserve: Int = 1024) {
        self.width = width
        keys = (0..<layers).map { _ in [Float]() }
        values = keys
        for i in 0..<layers {
            keys[i].reserveCapacity(reserve * width)
            values[i].reserveCapacity(reserve * width)
        }
    }

    func append(layer: Int, keys k: Tensor, values v: Tensor) {
        keys[layer] += k.data
        values[layer] += v.data
    }

    func advance(by count: Int) { length += count }
}

/// One LLaMA decoder layer: RMSNorm, grouped-query attention with RoPE, RMSNorm, SiLU-gated MLP.
struct LlamaLayer {
    let inputNorm: Tensor, postAttentionNorm: Tensor
    let q: Linear, k: Linear, v: Linear, o: Linear
    let gate: Linear, up: Linear, down: Linear

    init(_ w: WeightReader, config c: LlamaConfig) throws {
        let d = c.hiddenSize, qWidth = c.heads * c.headDim, kvWidth = c.kvHeads * c.headDim
        inputNorm = try w("input_layernorm.weight", shape: [d])
        postAttentionNorm = try w("post_attention_layernorm.weight", shape: [d])
        q = try Linear(w.scoped("self_attn.q_proj"), shape: [qWidth, d], bias: false)
        k = try Linear(w.scoped("self_attn.k_proj"), shape: [kvWidth, d], bias: false)
        v = try Linear(w.scoped("self_attn.v_proj"), shape: [kvWidth, d], bias: false)
        o = try Linear(w.scoped("self_attn.o_proj"), shape: [d, qWidth], bias: false)
        gate = try Linear(w.scoped("mlp.gate_proj"), shape: [c.intermediateSize, d], bias: false)
        up = try Linear(w.scoped("mlp.up_proj"), shape: [c.intermediateSize, d], bias: false)
        down = try Linear(w.scoped("mlp.down_proj"), shape: [d, c.intermediateSize], bias: false)
    }
}

/// A LLaMA-style decoder (SmolLM2, and SmolVLM's text model).
public struct LlamaDecoder {
    public let config: LlamaConfig
    /// [vocab, hidden]
    public let embedTokens: Tensor
    let layers: [LlamaLayer]
    let finalNorm: Tensor
    /// [vocab, hidden]; the embedding matrix itself when tied.
    let lmHead: Tensor
    let invFreq: [Float]

    /// - w: reader scoped to the decoder (`model.text_model` in SmolVLM, `model` in plain LLaMA);
    ///   lmHead: the untied output matrix, or nil when the config ties it to the embeddings.
    public init(_ w: WeightReader, lmHead: Tensor?, config: LlamaConfig) throws {
        self.config = config
        embedTokens = try w("embed_tokens.weight", shape: [config.vocabSize, config.hiddenSize])
        layers = try (0..<config.layers).map { try LlamaLayer(w.scoped("layers.\($0)"), config: config) }
        finalNorm = try w("norm.weight", shape: [config.hiddenSize])
        if config.tiedEmbeddings {
            self.lmHead = embedTokens
        } else {
            guard let lmHead else {
                throw CheckpointError(path: w.stateDict.source, problem: "no lm_head.weight, and the config does not tie embeddings")
            }
            guard lmHead.shape == [config.vocabSize, config.hiddenSize] else {
                throw CheckpointError(path: w.stateDict.source,
                                      problem: "lm_head.weight has shape \(lmHead.shape), expected \([config.vocabSize, config.hiddenSize])")
            }
            self.lmHead = lmHead
        }
        invFreq = ropeInverseFrequencies(headDim: config.headDim, theta: config.ropeTheta)
    }

    public func makeCache(reserve: Int = 1024) -> KVCache {
        KVCache(layers: config.layers, width: config.kvHeads * config.headDim, reserve: reserve)
    }

    /// Rows of the embedding matrix.
    public func embed(_ ids: [Int]) -> Tensor {
        let d = config.hiddenSize
        return Tensor(shape: [ids.count, d]) { out in
            embedTokens.data.withUnsafeBufferPointer { table in
                for (i, id) in ids.enumerated() {
                    (out.baseAddress! + i * d).update(from: table.baseAddress! + id * d, count: d)
                }
            }
        }
    }

    /// Runs new tokens [T, hidden] (positions cache.length ..< cache.length+T) through every layer,
    /// appending their keys and values to the cache. Returns the final-norm hidden states [T, hidden].
    /// `trace` receives per layer `q_post_rope_L`/`k_post_rope_L`/`v_L` ([T, heads·headDim]),
    /// `attn_probs_L` ([heads, T, cache length]) and `text_layer_L`, then `text_final_norm_output`.
    public func forward(_ input: Tensor, cache: KVCache, trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        let c = config, past = cache.length, tokens = input.shape[0], total = past + tokens
        let group = c.heads / c.kvHeads
        var x = input
        for (index, layer) in layers.enumerated() {
            let h = rmsNorm(x, weight: layer.inputNorm, eps: c.rmsNormEps)
            var q = layer.q(h), k = layer.k(h)
            let v = layer.v(h)
            applyRoPE(&q, heads: c.heads, invFreq: invFreq, firstPosition: past)
            applyRoPE(&k, heads: c.kvHeads, invFreq: invFreq, firstPosition: past)
            cache.append(layer: index, keys: k, values: v)
            if let trace {
                trace("q_post_rope_\(index)", q)
                trace("k_post_rope_\(index)", k)
                trace("v_\(index)", v)
            }
            // Consecutive query heads share a KV head: repeat each KV head for its group.
            let keys = repeatHeads(cache.keys[index], rows: total, kvHeads: c.kvHeads, group: group)
            let values = repeatHeads(cache.values[index], rows: total, kvHeads: c.kvHeads, group: group)
            let attention = multiHeadAttention(q: q, k: keys, v: values, heads: c.heads) { _, rowStart, rows, scores, ld in
                for r in 0..<rows {
                    let visible = past + rowStart + r + 1
                    if visible < total {
                        (scores + r * ld + visible).update(repeating: -.infinity, count: total - visible)
                    }
                }
            }
            if let trace { trace("attn_probs_\(index)", causalProbabilities(q: q, keys: keys, past: past)) }
            addInPlace(&x, layer.o(attention))

            let h2 = rmsNorm(x, weight: layer.postAttentionNorm, eps: c.rmsNormEps)
            var gated = layer.gate(h2)
            siluInPlace(&gated)
            multiplyInPlace(&gated, layer.up(h2))
            addInPlace(&x, layer.down(gated))
            trace?("text_layer_\(index)", x)
        }
        cache.advance(by: tokens)
        let normed = rmsNorm(x, weight: finalNorm, eps: c.rmsNormEps)
        trace?("text_final_norm_output", normed)
        return normed
    }

    /// Prefills prompt embeddings [S, hidden] and decodes greedily until a stop token or
    /// `maxNewTokens`. With `forcedTokens`, those are fed instead of the argmax (teacher forcing).
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
            logits = self.logits(forward(embed([next]), cache: cache))
        }
        return Generation(tokens: tokens, stoppedAtStopToken: stopped, promptLength: embeddings.shape[0])
    }

    /// Greedy continuation of token ids.
    public func greedy(promptIDs: [Int], maxNewTokens: Int, stopTokens: Set<Int>) -> Generation {
        generate(embeddings: embed(promptIDs), maxNewTokens: maxNewTokens, stopTokens: stopTokens)
    }

    /// Logits [vocab] of one final-norm hidden state.
    public func logits(_ hidden: Tensor) -> [Float] {
        matmul(hidden.reshaped([1, config.hiddenSize]), lmHead, transB: true).data
    }

    func repeatHeads(_ cached: [Float], rows: Int, kvHeads: Int, group: Int) -> Tensor {
        let headDim = config.headDim, kvWidth = kvHeads * headDim, width = kvWidth * group
        return Tensor(shape: [rows, width]) { out in
            cached.withUnsafeBufferPointer { src in
                for r in 0..<rows {
                    for kv in 0..<kvHeads {
                        let from = src.baseAddress! + r * kvWidth + kv * headDim
                        for g in 0..<group {
                            (out.baseAddress! + r * width + (kv * group + g) * headDim).update(from: from, count: headDim)
                        }
                    }
                }
            }
        }
    }

    /// Attention probabilities [heads, T, total] for tracing only (the forward pass never keeps them).
    func causalProbabilities(q: Tensor, keys: Tensor, past: Int) -> Tensor {
        let c = config, tokens = q.shape[0], total = keys.shape[0], width = q.shape[1]
        var out = Tensor(zeros: [c.heads, tokens, total])
        out.data.withUnsafeMutableBufferPointer { p in
            q.data.withUnsafeBufferPointer { pq in
                keys.data.withUnsafeBufferPointer { pk in
                    for h in 0..<c.heads {
                        let block = p.baseAddress! + h * tokens * total
                        gemm(transB: true, m: tokens, n: total, k: c.headDim, alpha: 1 / Float(c.headDim).squareRoot(),
                             a: pq.baseAddress! + h * c.headDim, lda: width,
                             b: pk.baseAddress! + h * c.headDim, ldb: width, c: block, ldc: total)
                        for r in 0..<tokens where past + r + 1 < total {
                            (block + r * total + past + r + 1).update(repeating: -.infinity, count: total - past - r - 1)
                        }
                        softmaxRows(block, rows: tokens, cols: total, stride: total)
                    }
                }
            }
        }
        return out
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

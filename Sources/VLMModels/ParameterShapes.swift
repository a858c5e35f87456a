import Foundation
import TensorMath

/// How a parameter is initialised in random architecture-exact weights.
public enum ParameterRole: Sendable {
    /// Matrices and embeddings: N(0, std²).
    case weight
    /// Norm scales: ones.
    case normScale
    /// Biases: zeros.
    case bias
}

extension SmolVLMConfig {
    /// Every tensor of `Idefics3ForConditionalGeneration` for this configuration, with the names
    /// and shapes of the real checkpoint.
    public func parameterShapes() -> [(name: String, shape: [Int], role: ParameterRole)] {
        let v = vision, t = text, p = v.patchSize
        var list: [(String, [Int], ParameterRole)] = [
            ("model.vision_model.embeddings.patch_embedding.weight", [v.hiddenSize, 3, p, p], .weight),
            ("model.vision_model.embeddings.patch_embedding.bias", [v.hiddenSize], .bias),
            ("model.vision_model.embeddings.position_embedding.weight", [v.patchesPerSide * v.patchesPerSide, v.hiddenSize], .weight),
        ]
        for i in 0..<v.layers {
            let l = "model.vision_model.encoder.layers.\(i)."
            for proj in ["k_proj", "v_proj", "q_proj", "out_proj"] {
                list += [(l + "self_attn.\(proj).weight", [v.hiddenSize, v.hiddenSize], .weight),
                         (l + "self_attn.\(proj).bias", [v.hiddenSize], .bias)]
            }
            list += [(l + "layer_norm1.weight", [v.hiddenSize], .normScale), (l + "layer_norm1.bias", [v.hiddenSize], .bias),
                     (l + "mlp.fc1.weight", [v.intermediateSize, v.hiddenSize], .weight), (l + "mlp.fc1.bias", [v.intermediateSize], .bias),
                     (l + "mlp.fc2.weight", [v.hiddenSize, v.intermediateSize], .weight), (l + "mlp.fc2.bias", [v.hiddenSize], .bias),
                     (l + "layer_norm2.weight", [v.hiddenSize], .normScale), (l + "layer_norm2.bias", [v.hiddenSize], .bias)]
        }
        list += [("model.vision_model.post_layernorm.weight", [v.hiddenSize], .normScale),
                 ("model.vision_model.post_layernorm.bias", [v.hiddenSize], .bias),
                 ("model.connector.modality_projection.proj.weight", [t.hiddenSize, v.hiddenSize * scaleFactor * scaleFactor], .weight),
                 ("model.text_model.embed_tokens.weight", [t.vocabSize, t.hiddenSize], .weight)]
        let q = t.heads * t.headDim, kv = t.kvHeads * t.headDim
        for i in 0..<t.layers {
            let l = "model.text_model.layers.\(i)."
            list += [(l + "self_attn.q_proj.weight", [q, t.hiddenSize], .weight),
                     (l + "self_attn.k_proj.weight", [kv, t.hiddenSize], .weight),
                     (l + "self_attn.v_proj.weight", [kv, t.hiddenSize], .weight),
                     (l + "self_attn.o_proj.weight", [t.hiddenSize, q], .weight),
                     (l + "mlp.gate_proj.weight", [t.intermediateSize, t.hiddenSize], .weight),
                     (l + "mlp.up_proj.weight", [t.intermediateSize, t.hiddenSize], .weight),
                     (l + "mlp.down_proj.weight", [t.hiddenSize, t.intermediateSize], .weight),
                     (l + "input_layernorm.weight", [t.hiddenSize], .normScale),
                     (l + "post_attention_layernorm.weight", [t.hiddenSize], .normScale)]
        }
        list.append(("model.text_model.norm.weight", [t.hiddenSize], .normScale))
        if !t.tiedEmbeddings { list.append(("lm_head.weight", [t.vocabSize, t.hiddenSize], .weight)) }
        return list
    }
}

/// Seeded random tensors for every parameter (SplitMix64 + Box–Muller), for benchmarks and tests
/// that need the architecture but not trained values.
public func randomParameters(_ shapes: [(name: String, shape: [Int], role: ParameterRole)], std: Float = 0.02,
                             seed: UInt64) -> [(name: String, tensor: Tensor)] {
    var state = seed
    func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) + 0.5 / Float(1 << 24) }
    return shapes.map { entry in
        let count = entry.shape.reduce(1, *)
        let tensor = Tensor(shape: entry.shape) { out in
            switch entry.role {
            case .normScale: out.update(repeating: 1)
            case .bias: out.update(repeating: 0)
            case .weight:
                var i = 0
                while i < count {
                    let radius = (-2 * logf(uniform())).squareRoot(), angle = 2 * Float.pi * uniform()
                    out[i] = std * radius * cosf(angle)
                    if i + 1 < count { out[i + 1] = std * radius * sinf(angle) }
                    i += 2
                }
            }
        }
        return (entry.name, tensor)
    }
}

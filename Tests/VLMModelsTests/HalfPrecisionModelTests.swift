import Checkpoints
import Foundation
import TensorMath
import TestSupport
import VLMModels
import XCTest

/// A bfloat16 SmolVLM kept in 16 bits computes exactly what the same checkpoint widened to
/// float32 on load computes: every traced activation of the vision tower, connector and decoder,
/// every decoding step's logits and the greedy tokens, bit for bit.
final class HalfPrecisionModelTests: XCTestCase {
    func testBFloat16WeightsGiveTheBitsOfWideningUpFront() throws {
        guard let config = sharedPath("parity/smolvlm-tiny/config.json") else { throw XCTSkip(missingShared("parity/smolvlm-tiny")) }
        let parsed = try SmolVLMConfig(contentsOf: config)
        let dir = scratchDirectory()
        try FileManager.default.copyItem(atPath: config, toPath: dir + "/config.json")
        // Norm scales and biases random too, so that no parameter is trivially exact.
        let parameters = randomParameters(parsed.parameterShapes().map { ($0.name, $0.shape, .weight) }, std: 0.05, seed: 11)
        try writeSafetensors(parameters, dtype: .bfloat16, to: dir + "/model.safetensors")
        let kept = try SmolVLM(directory: dir), widened = try SmolVLM(directory: dir, keepingHalfPrecision: false)
        guard case .halfPrecision = kept.decoder.embedTokens, case .dense = widened.decoder.embedTokens else {
            return XCTFail("the models do not hold the weights in the precisions compared")
        }

        let vision = parsed.vision
        var generator = SeededGenerator(seed: 12)
        let side = vision.imageSize, tiles = Tensor(shape: [2, 3, side, side], data: (0 ..< 6 * side * side).map { _ in
            Float.random(in: -1 ... 1, using: &generator)
        })
        let imageTokens = 2 * parsed.imageTokensPerTile
        let ids = [1, 2] + [Int](repeating: parsed.imageTokenID, count: imageTokens) + [3, 4, 5]
        func run(_ model: SmolVLM) throws -> (trace: [String: Tensor], tokens: [Int], steps: [[Float]], hidden: Tensor) {
            var trace: [String: Tensor] = [:]
            let features = model.imageFeatures(tiles, trace: { trace[$0] = $1 })
            let generation = try model.generate(ids: ids, imageFeatures: features, maxNewTokens: 6, stopTokens: [],
                                                trace: { trace[$0] = $1 })
            // Each decoding step's logits, from one token at a time through the cache.
            let decoder = model.decoder, cache = decoder.makeCache()
            var hidden = decoder.forward(try model.inputEmbeddings(ids: ids, imageFeatures: features), cache: cache)
            var steps: [[Float]] = []
            for token in generation.tokens {
                steps.append(decoder.logits(hidden[hidden.shape[0] - 1]))
                hidden = decoder.forward(decoder.embed([token]), cache: cache)
            }
            let teacherForced = try model.teacherForcedForward(promptIDs: ids, answerIDs: generation.tokens,
                                                               imageFeatures: features) { _ in }
            return (trace, generation.tokens, steps, teacherForced)
        }
        let fromKept = try run(kept), fromWidened = try run(widened)
        XCTAssertEqual(fromKept.tokens, fromWidened.tokens)
        XCTAssertEqual(fromKept.steps.count, 6)
        XCTAssertTrue(fromKept.steps.map(bits) == fromWidened.steps.map(bits), "decoding steps' logits differ")
        XCTAssertEqual(Set(fromKept.trace.keys), Set(fromWidened.trace.keys))
        for (name, tensor) in fromKept.trace {
            XCTAssertTrue(bits(tensor.data) == fromWidened.trace[name].map { bits($0.data) }, "\(name) differs")
        }
        XCTAssertTrue(fromKept.trace["connector_output_1"] != nil && fromKept.trace["logits_last"] != nil)
        XCTAssertTrue(bits(fromKept.hidden.data) == bits(fromWidened.hidden.data), "teacher-forced hidden states differ")
    }

    func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
}

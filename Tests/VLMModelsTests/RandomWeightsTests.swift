import Checkpoints
import Foundation
import TensorMath
import TestSupport
import VLMModels
import XCTest

final class RandomWeightsTests: XCTestCase {
    /// The enumerated architecture is the real checkpoint's: all 471 names and shapes.
    func testFullSizeShapesMatchTheRealCheckpoint() throws {
        let folder = "models/smolvlm-256m-instruct"
        guard let config = sharedPath(folder + "/config.json"), let listing = sharedPath(folder + "/tensor_shapes.json") else {
            throw XCTSkip(missingShared(folder))
        }
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: listing))) as? [String: [Int]])
        let shapes = try SmolVLMConfig(contentsOf: config).parameterShapes()
        XCTAssertEqual(shapes.count, 471)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: shapes.map { ($0.name, $0.shape) }), expected)
        XCTAssertEqual(shapes.reduce(0) { $0 + $1.shape.reduce(1, *) }, 256_484_928)
    }

    /// Random weights written as bf16 safetensors load back into a working model.
    func testWrittenWeightsLoadAndRun() throws {
        guard let config = sharedPath("parity/smolvlm-tiny/config.json") else { throw XCTSkip(missingShared("parity/smolvlm-tiny")) }
        let parsed = try SmolVLMConfig(contentsOf: config)
        let dir = scratchDirectory()
        try FileManager.default.copyItem(atPath: config, toPath: dir + "/config.json")
        let tensors = randomParameters(parsed.parameterShapes(), seed: 7)
        try writeSafetensors(tensors, dtype: .bfloat16, to: dir + "/model.safetensors")
        let model = try SmolVLM(directory: dir)
        let reloaded = try loadSafetensors(dir + "/model.safetensors")
        let original = tensors.first { $0.name == "model.connector.modality_projection.proj.weight" }!.tensor
        let roundTrip = try reloaded.tensor("model.connector.modality_projection.proj.weight")
        XCTAssertLessThanOrEqual(roundTrip.relativeError(to: original), 1.0 / 128, "bf16 keeps 8 significant bits")
        XCTAssertEqual(try reloaded.tensor("model.text_model.norm.weight").data, [Float](repeating: 1, count: 64))
        let generation = model.decoder.greedy(promptIDs: [1, 2, 3], maxNewTokens: 3, stopTokens: [])
        XCTAssertEqual(generation.tokens.count, 3)
    }
}

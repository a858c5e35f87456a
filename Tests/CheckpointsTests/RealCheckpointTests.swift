import Checkpoints
import Foundation
import TensorMath
import TestSupport
import XCTest

/// The parity bundles' real `torch.save` files. Spot values come from Python's own unpickler
/// (recorded in Fixtures/expected.json by scripts/make_checkpoint_fixtures.py).
final class RealCheckpointTests: XCTestCase {
    private func assertSpotValues(_ stateDict: StateDict, _ relative: String) throws {
        let expected = try Fixtures.expectedReal(relative)
        XCTAssertEqual(stateDict.keys.count, expected.tensorCount)
        XCTAssertEqual(stateDict.parameterCount, expected.parameterCount)
        XCTAssertFalse(expected.tensors.isEmpty)
        for (name, spot) in expected.tensors {
            let tensor = try stateDict.tensor(name)
            XCTAssertEqual(tensor.shape, spot.shape, name)
            XCTAssertEqual(Array(tensor.data.prefix(4)), spot.head, name)
            XCTAssertEqual(tensor.data.last, spot.last, name)
            let sum = tensor.data.reduce(0.0) { $0 + Double($1) }
            let magnitude = tensor.data.reduce(0.0) { $0 + abs(Double($1)) }
            XCTAssertEqual(sum, spot.sum, accuracy: 1e-9 * max(magnitude, 1), name)
        }
    }

    /// Plain state dict; config.json lists every key in order with its shape.
    func testSamSmallMatchesConfig() throws {
        let relative = "parity/sam-small/weights.pth"
        guard let path = sharedPath(relative), let configPath = sharedPath("parity/sam-small/config.json") else {
            throw XCTSkip(missingShared(relative))
        }
        let start = Date()
        let stateDict = try loadCheckpoint(path)
        print("loaded \(relative) in \(String(format: "%.3f", Date().timeIntervalSince(start))) s")

        let configText = try String(contentsOfFile: configPath, encoding: .utf8)
        let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(configText.utf8)) as? [String: Any])
        let shapes = try XCTUnwrap(config["state_dict_keys"] as? [String: [Int]])
        XCTAssertEqual(stateDict.keys.count, 202)
        XCTAssertEqual(stateDict.parameterCount, 7_457_776)
        XCTAssertEqual(config["num_params"] as? Int, 7_457_776)
        XCTAssertEqual(Set(stateDict.keys), Set(shapes.keys))
        for (name, shape) in shapes {
            XCTAssertEqual(stateDict.shape(name), shape, name)
        }
        // JSON objects are unordered once parsed, so take the config's order from its text.
        let textPositions = try shapes.keys.map { name in
            (name, try XCTUnwrap(configText.range(of: "\"\(name)\"")).lowerBound)
        }
        let configOrder = textPositions.sorted { $0.1 < $1.1 }.map(\.0)
        XCTAssertEqual(stateDict.keys, configOrder)
        try assertSpotValues(stateDict, relative)
    }

    /// `{"model": state_dict}` under a custom archive folder name.
    func testEfficientSamVitT() throws {
        let relative = "parity/efficientsam-vitt/weights.pt"
        guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
        let start = Date()
        let stateDict = try loadPyTorchCheckpoint(path)
        print("loaded \(relative) in \(String(format: "%.3f", Date().timeIntervalSince(start))) s")
        XCTAssertEqual(stateDict.keys.count, 278)
        XCTAssertEqual(stateDict.parameterCount, 10_223_460)
        XCTAssertEqual(stateDict.keys.first, "image_encoder.pos_embed")
        XCTAssertEqual(stateDict.shape("image_encoder.patch_embed.proj.weight"), [192, 3, 16, 16])
        XCTAssertTrue(stateDict.tensors.values.allSatisfy { !$0.hasNonFinite })
        try assertSpotValues(stateDict, relative)
    }
}

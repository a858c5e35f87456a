import Artifacts
import Checkpoints
import Foundation
import Pipeline
import TestSupport
import VLMModels
import XCTest

/// The full-size SmolVLM-256M architecture (random weights from the project's own generator, the real
/// tokenizer and processor files) runs the listing stage end to end on the 1800x1200 photo.
final class FullSizeSmolVLMTests: XCTestCase {
    func testListingStageWithAndWithoutSplitting() throws {
        let folder = "models/smolvlm-256m-instruct"
        guard let config = sharedPath(folder + "/config.json"), let photo = sharedPath("data/samples/truck.jpg") else {
            throw XCTSkip(missingShared(folder))
        }
        let model = scratchDirectory() + "/smolvlm-256m-random"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        let source = (config as NSString).deletingLastPathComponent
        for file in try FileManager.default.contentsOfDirectory(atPath: source) where file.hasSuffix(".json") {
            try? FileManager.default.removeItem(atPath: model + "/" + file)
            try FileManager.default.createSymbolicLink(atPath: model + "/" + file, withDestinationPath: source + "/" + file)
        }
        let parsed = try SmolVLMConfig(contentsOf: config)
        try writeSafetensors(randomParameters(parsed.parameterShapes(), seed: 1), dtype: .bfloat16,
                             to: model + "/model.safetensors")
        let stage = try ListStage(modelDirectory: model)
        for (split, tiles) in [(false, 1), (true, 13)] {
            var options = ListStage.Options()
            options.imageSplitting = split
            options.maxNewTokens = 3
            let output = scratchDirectory() + "/objects-\(split).h5"
            let artifact = try stage.run(image: photo, output: output, options: options)
            XCTAssertEqual(artifact.tiles.count, tiles)
            XCTAssertEqual(artifact.imageTokenPositions.count, 64 * tiles)
            XCTAssertEqual(artifact.inputIDs.count, split ? 878 : 83, "same prompt layout as the reference processor")
            XCTAssertFalse(artifact.generatedIDs.isEmpty)
            XCTAssertEqual(try ObjectsArtifact.read(from: output), artifact)
        }
    }
}

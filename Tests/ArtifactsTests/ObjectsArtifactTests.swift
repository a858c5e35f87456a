import Artifacts
import Foundation
import TestSupport
import XCTest

final class ObjectsArtifactTests: XCTestCase {
    func sample() -> ObjectsArtifact {
        ObjectsArtifact(
            provenance: Provenance(producer: "ObjectsArtifactTests", modelName: "tiny", parameters: #"{"prompt":"List"}"#),
            originalSize: ImageSize(height: 1200, width: 1800), mode: "teacher_forced", imageSplitting: false,
            promptText: "<|im_start|>User:<image>List<end_of_utterance>\nAssistant:",
            inputIDs: [1, 11126, 42, 49189, 49152, 49190, 49190, 49189, 6106],
            imageTokenPositions: [5, 6], imageTokenTile: [0, 0], imageTokenCell: [(0, 0), (0, 1)], gridSide: 8,
            tiles: [.init(row: nil, col: nil, rect: [0, 0, 1800, 1200])],
            generatedIDs: [15038, 28, 260, 49279], generatedText: " truck, café",
            objects: [.init(name: "truck", spans: [9..<10]), .init(name: "café", spans: [11..<12, 12..<12])])
    }

    func testRoundTripAndHeader() throws {
        let path = scratchDirectory() + "/objects.h5"
        let artifact = sample()
        try artifact.write(to: path)
        XCTAssertEqual(try ObjectsArtifact.read(from: path), artifact)
        if let dump = try runTool("h5dump", ["-H", path]) {
            XCTAssertEqual(dump.status, 0)
            for name in ["object_spans", "image_token_cell", "tile_rects", "schema", "mode"] {
                XCTAssertTrue(dump.output.contains("\"\(name)\""), name)
            }
        }
    }

    func testWrongSchemaAndBadContent() throws {
        let directory = scratchDirectory()
        let prompts = directory + "/prompts.h5"
        try PromptsArtifact(provenance: Provenance(producer: "t"), originalSize: ImageSize(height: 2, width: 2), sets: [])
            .write(to: prompts)
        assertArtifactError(.wrongSchema, file: prompts, containing: ["not a vlsam.objects artifact"]) {
            try ObjectsArtifact.read(from: prompts)
        }
        var bad = sample()
        bad.mode = "guessed"
        let path = directory + "/bad.h5"
        assertArtifactError(.invalidValue, file: path, containing: ["guessed"]) { try bad.write(to: path) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}

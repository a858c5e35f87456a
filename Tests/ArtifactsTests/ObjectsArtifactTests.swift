import Artifacts
import Foundation
import Geometry
import TensorMath
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

    /// Two image tokens of a width-3 model, with values whose float32 bytes are easy to find in the file.
    func features() -> Tensor { Tensor(shape: [2, 3], data: [1234.5, -2.25, 0.125, 3e-3, 7777.75, -0.5]) }

    func testImageFeaturesRoundTripAndStayOptional() throws {
        let directory = scratchDirectory()
        var withFeatures = sample()
        withFeatures.imageFeatures = features()
        try withFeatures.write(to: directory + "/with.h5")
        let read = try ObjectsArtifact.read(from: directory + "/with.h5")
        XCTAssertEqual(read.imageFeatures, features(), "bit for bit")
        XCTAssertEqual(read, withFeatures)
        XCTAssertNotEqual(read, sample(), "the features take part in equality")
        // A file without the dataset (as written before it existed) reads back with none.
        try sample().write(to: directory + "/without.h5")
        XCTAssertNil(try ObjectsArtifact.read(from: directory + "/without.h5").imageFeatures)
        if let dump = try runTool("h5dump", ["-H", directory + "/with.h5"]) {
            XCTAssertTrue(dump.output.contains("\"image_features\""))
            XCTAssertTrue(dump.output.contains("H5T_IEEE_F32LE"), "stored as float32")
        }
    }

    func testImageFeaturesWithNaNOrTheWrongShapeAreRefused() throws {
        let directory = scratchDirectory()
        var bad = sample()
        bad.imageFeatures = Tensor(shape: [2, 3], data: [0, 1, 2, .nan, 4, 5])
        assertArtifactError(.invalidValue, file: directory + "/nan.h5", containing: [#"dataset "image_features" holds nan at [1, 0]"#]) {
            try bad.write(to: directory + "/nan.h5")
        }
        bad.imageFeatures = Tensor(zeros: [3, 3])
        assertArtifactError(.invalidValue, file: directory + "/rows.h5", containing: ["image_features has shape [3, 3], expected [N=2"]) {
            try bad.write(to: directory + "/rows.h5")
        }

        // A NaN that reaches the file (here patched into the stored bytes) is refused on reading.
        var good = sample()
        good.imageFeatures = features()
        let path = directory + "/patched.h5"
        try good.write(to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let needle = features().data.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        let offset = try XCTUnwrap((0...(bytes.count - needle.count)).first { bytes[$0 ..< $0 + needle.count].elementsEqual(needle) },
                                   "the features are stored contiguously")
        // Row 1, column 1 (7777.75) becomes a quiet NaN.
        bytes.replaceSubrange(offset + 16 ..< offset + 20, with: withUnsafeBytes(of: Float.nan.bitPattern.littleEndian, Array.init))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        assertArtifactError(.invalidValue, file: path, containing: [#"dataset "image_features" holds nan at [1, 1]; its values must be finite"#]) {
            try ObjectsArtifact.read(from: path)
        }
    }
}

import Artifacts
import Foundation
import TestSupport
import XCTest

/// `vlsam-list` end to end on the smolvlm-tiny bundle (real tokenizer and processor files, reduced
/// random model): from the JPEG to the same greedy tokens transformers produced.
final class ListCLITests: XCTestCase {
    func run(_ arguments: [String]) throws -> ToolRun { try runStage("vlsam-list", arguments) }

    func paths() throws -> (model: String, photo: String, reference: HDF5File) {
        guard let model = sharedPath("parity/smolvlm-tiny"), let photo = sharedPath("data/samples/truck.jpg") else {
            throw XCTSkip(missingShared("parity/smolvlm-tiny"))
        }
        return (model, photo, try HDF5File(readingAt: model + "/parity.h5"))
    }

    func testGeneratedAnswerMatchesReferenceInBothSplittingModes() throws {
        let (model, photo, reference) = try paths()
        let dir = scratchDirectory()
        for (group, extra) in [("split_on", [String]()), ("split_off", ["--no-split"])] {
            let output = "\(dir)/\(group).h5"
            let result = try run(["--model", model, "--output", output, "--max-new-tokens", "20", photo] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            let artifact = try ObjectsArtifact.read(from: output)
            XCTAssertEqual(artifact.inputIDs, try reference.readInt64("\(group)/input_ids").values.map(Int.init), group)
            XCTAssertEqual(artifact.generatedIDs, try reference.readInt64("\(group)/generated_ids").values.map(Int.init), group)
            XCTAssertEqual(artifact.generatedText, try reference.readStrings("\(group)/generated_text_skip_special")[0], group)
            XCTAssertEqual(artifact.imageTokenPositions,
                           try reference.readInt64("\(group)/image_token_positions").values.map(Int.init), group)
            XCTAssertEqual(artifact.mode, "generated")
            let tiles = group == "split_on" ? 13 : 1
            XCTAssertEqual(artifact.tiles.count, tiles)
            XCTAssertEqual(artifact.tiles.last?.row, nil, "the global image is last")
            XCTAssertEqual(artifact.tiles.last?.rect, [0, 0, 1800, 1200])
            XCTAssertEqual(artifact.imageTokenTile.last, tiles - 1)
            XCTAssertEqual(artifact.imageTokenCell[9].row, 1)
            XCTAssertEqual(artifact.imageTokenCell[9].col, 1)
            // The connector output the prompt was embedded with, for the attention stage: one row per
            // image token, equal to transformers' connector output of the same tiles.
            let features = try XCTUnwrap(artifact.imageFeatures, "\(group): no image_features")
            XCTAssertEqual(features.shape, [artifact.imageTokenPositions.count, 64], group)
            assertClose(features.data, try reference.readTensor("\(group)/connector_output").data, .absolute(1e-4),
                        "\(group) image_features against the reference connector output")
        }
    }

    func testTeacherForcedObjects() throws {
        let (model, photo, _) = try paths()
        let output = scratchDirectory() + "/forced.h5"
        let result = try run(["--model", model, "--output", output, "--objects", "truck, the wheels,a Window, truck", photo])
        XCTAssertEqual(result.status, 0, result.stderr)
        let artifact = try ObjectsArtifact.read(from: output)
        XCTAssertEqual(artifact.mode, "teacher_forced")
        XCTAssertEqual(artifact.generatedText, " truck, the wheels, a Window, truck")
        XCTAssertEqual(artifact.objects.map(\.name), ["truck", "wheels", "window"])
        XCTAssertEqual(artifact.objects[0].spans.count, 2, "the repeated name is one object with two mentions")
        // Every span points at answer tokens: position prompt_length + i holds answer token i.
        let promptLength = artifact.inputIDs.count
        for object in artifact.objects {
            for span in object.spans {
                XCTAssertGreaterThanOrEqual(span.lowerBound, promptLength)
                XCTAssertLessThanOrEqual(span.upperBound, promptLength + artifact.generatedIDs.count)
                XCTAssertFalse(span.isEmpty)
            }
        }
        XCTAssertEqual(artifact.generatedIDs.last, 49279, "the forced answer ends with <end_of_utterance>")
        XCTAssertEqual(artifact.imageFeatures?.shape, [artifact.imageTokenPositions.count, 64], "image_features stored")
    }

    /// A model folder of links to the bundle's files, with one file left out or replaced.
    func modelCopy(dropping dropped: String? = nil, replacing: (String, String)? = nil) throws -> String {
        let (model, _, _) = try paths()
        let dir = scratchDirectory() + "/model-\(dropped ?? replacing?.0 ?? "copy")"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: model) where file != dropped && file != replacing?.0 {
            try FileManager.default.createSymbolicLink(atPath: dir + "/" + file, withDestinationPath: model + "/" + file)
        }
        if let (name, text) = replacing { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        return dir
    }

    func assertFails(_ arguments: [String], naming file: String, line: UInt = #line) throws {
        let result = try run(arguments)
        XCTAssertNotEqual(result.status, 0, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr, line: line)
        XCTAssertTrue(result.stderr.contains(file), "error does not name \(file): \(result.stderr)", line: line)
    }

    func testBadModelFoldersAndImagesFail() throws {
        let (model, photo, _) = try paths()
        let output = scratchDirectory() + "/never.h5"
        let noTokenizer = try modelCopy(dropping: "tokenizer.json")
        try assertFails(["--model", noTokenizer, "--output", output, photo], naming: noTokenizer + "/tokenizer.json")
        let noConfig = try modelCopy(dropping: "config.json")
        try assertFails(["--model", noConfig, "--output", output, photo], naming: noConfig + "/config.json")

        let config = try String(contentsOfFile: model + "/config.json", encoding: .utf8)
        let wrongVocab = try modelCopy(replacing: ("config.json", config.replacingOccurrences(of: "\"vocab_size\": 49280", with: "\"vocab_size\": 49000")))
        let result = try run(["--model", wrongVocab, "--output", output, photo])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("vocab_size") && result.stderr.contains("49000"), result.stderr)

        let notAPhoto = scratchDirectory() + "/photo.png"
        try "plain text".write(toFile: notAPhoto, atomically: true, encoding: .utf8)
        try assertFails(["--model", model, "--output", output, notAPhoto], naming: notAPhoto)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }
}

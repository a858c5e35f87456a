import Artifacts
import Foundation
import Geometry
import Pipeline
import TensorMath
import TestSupport
import XCTest

/// Runs the stage executables end to end, as a user would, against the parity bundles.
final class CLITests: XCTestCase {
    func shared(_ relative: String) throws -> String {
        guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
        return path
    }

    // MARK: End to end

    func testEfficientSAMEndToEnd() throws {
        let dir = scratchDirectory()
        let checkpoint = try shared("parity/efficientsam-vitt/weights.pt")
        let reference = try HDF5File(readingAt: try shared("parity/efficientsam-vitt/parity.h5"))
        let embedding = dir + "/truck.h5", masks = dir + "/masks.h5"
        let encode = try runStage("vlsam-encode", ["--checkpoint", checkpoint, "--output", embedding,
                                              try shared("parity/efficientsam-vitt/image.jpg")])
        XCTAssertEqual(encode.status, 0, encode.stderr)
        let artifact = try EmbeddingArtifact.read(from: embedding)
        XCTAssertEqual(artifact.family, "efficientsam")
        XCTAssertEqual(artifact.originalSize, ImageSize(height: 1200, width: 1800))
        assertClose(artifact.embedding, try reference.readTensor("encoder/image_embedding"), .relative(1e-4), "image_embedding")

        let decode = try runStage("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", embedding, "--output", masks,
                                              "--point", "500,375,1", "--point", "1125,625,1", "--point", "575,750,0",
                                              "--multimask", "--png-dir", dir + "/png"])
        XCTAssertEqual(decode.status, 0, decode.stderr)
        let result = try MasksArtifact.read(from: masks)
        XCTAssertEqual(result.maskCount, 3)
        assertClose(result.lowresLogits, try reference.readTensor("cases/case1_points/lowres_logits"), .relative(1e-3),
                    "case1_points lowres_logits")
        assertClose(Tensor(shape: [3], data: result.iouPredictions),
                    try reference.readTensor("cases/case1_points/iou_predictions"), .relative(1e-3), "case1_points iou_predictions")
        XCTAssertEqual(result.thresholdRule, ">=")
        for k in 0..<3 { XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/png/masks_set0_mask\(k).png")) }
    }

    func testSAMEndToEndWithCascadeAndPromptsFile() throws {
        let dir = scratchDirectory()
        let checkpoint = try shared("parity/sam-small/weights.pth")
        let reference = try HDF5File(readingAt: try shared("parity/sam-small/parity.h5"))
        let embedding = dir + "/truck.h5"
        let encode = try runStage("vlsam-encode", ["--checkpoint", checkpoint, "--output", embedding,
                                              try shared("parity/sam-small/image.jpg")])
        XCTAssertEqual(encode.status, 0, encode.stderr)
        assertClose(try EmbeddingArtifact.read(from: embedding).embedding,
                    try reference.readTensor("encoder/image_embedding"), .relative(1e-4), "image_embedding")

        // Case 1, then case 4: its best mask's logits fed back as the mask prompt.
        let first = dir + "/first.h5", refined = dir + "/refined.h5"
        XCTAssertEqual(try runStage("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", embedding, "--output", first,
                                                "--point", "500,375,1", "--multimask"]).status, 0)
        let cascade = try runStage("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", embedding, "--output", refined,
                                               "--point", "500,375,1", "--mask-input", first])
        XCTAssertEqual(cascade.status, 0, cascade.stderr)
        let case4 = try MasksArtifact.read(from: refined)
        assertClose(case4.lowresLogits, try reference.readTensor("cases/case4_point_maskinput_single/lowres_logits"),
                    .relative(1e-3), "case4 lowres_logits")

        // Cases 1–3 as three prompt sets of one prompts file.
        let prompts = PromptsArtifact(
            provenance: Provenance(producer: "CLITests"), originalSize: ImageSize(height: 1200, width: 1800),
            sets: [
                .init(name: "point", points: [.init(x: 500, y: 375)], labels: [1]),
                .init(name: "points", points: [.init(x: 500, y: 375), .init(x: 1125, y: 625), .init(x: 575, y: 750)],
                      labels: [1, 1, 0]),
                .init(name: "box", box: .init(x0: 425, y0: 600, x1: 700, y1: 875)),
            ])
        try prompts.write(to: dir + "/prompts.h5")
        let batch = try runStage("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", embedding,
                                             "--output", dir + "/batch.h5", "--prompts", dir + "/prompts.h5"])
        XCTAssertEqual(batch.status, 0, batch.stderr)
        let masks = try MasksArtifact.read(from: dir + "/batch.h5")
        XCTAssertEqual(masks.promptSet, [0, 1, 2])
        XCTAssertEqual(masks.setNames, ["point", "points", "box"])
        XCTAssertEqual(masks.thresholdRule, ">")
        let plane = 256 * 256
        for (set, name) in [(1, "case2_points_single"), (2, "case3_box_single")] {
            let logits = Tensor(shape: [1, 256, 256], data: Array(masks.lowresLogits.data[set * plane ..< (set + 1) * plane]))
            assertClose(logits, try reference.readTensor("cases/\(name)/lowres_logits"), .relative(1e-3), name)
            let refMask = try reference.readUInt8("cases/\(name)/masks").values
            // Bound: the reference's own fp32/fp64 difference for this case (5 and 12 pixels).
            let bound = try XCTUnwrap(reference.attributeInt("fp64_mismatch_pixels", at: "cases/\(name)/masks"))
            assertMasksAgree(Array(masks.mask(set)), refMask, within: bound, name)
        }

        // Every artifact is self-describing for h5dump.
        for file in [embedding, refined, dir + "/prompts.h5", dir + "/batch.h5"] {
            let dump = Process()
            dump.executableURL = URL(fileURLWithPath: "/usr/bin/h5dump")
            guard FileManager.default.isExecutableFile(atPath: dump.executableURL!.path) else { continue }
            dump.arguments = ["-H", file]
            let out = Pipe()
            dump.standardOutput = out
            try dump.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            dump.waitUntilExit()
            XCTAssertEqual(dump.terminationStatus, 0, file)
            XCTAssertTrue(text.contains("ATTRIBUTE \"schema\"") && text.contains("ATTRIBUTE \"description\""), file)
        }
    }

    // MARK: Bad input

    func testBadCheckpointsFail() throws {
        let dir = scratchDirectory()
        let real = try Data(contentsOf: URL(fileURLWithPath: try shared("parity/sam-small/weights.pth")))
        let image = try shared("data/samples/dog.jpg")
        let cases: [(String, Data)] = [
            ("truncated.pth", real.prefix(real.count / 2)),
            ("corrupt.pth", Data((0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) })),
            ("empty.pth", Data()),
        ]
        for (name, bytes) in cases {
            let path = dir + "/" + name
            try bytes.write(to: URL(fileURLWithPath: path))
            try assertFails("vlsam-encode", ["--checkpoint", path, "--output", dir + "/out.h5", image],
                            naming: path, output: dir + "/out.h5")
        }
    }

    func testNonImageAndWrongSchemaFail() throws {
        let dir = scratchDirectory()
        let checkpoint = try shared("parity/sam-small/weights.pth")
        let notAnImage = dir + "/notes.jpg"
        try "not a photo".write(toFile: notAnImage, atomically: true, encoding: .utf8)
        try assertFails("vlsam-encode", ["--checkpoint", checkpoint, "--output", dir + "/e.h5", notAnImage],
                        naming: notAnImage, output: dir + "/e.h5")

        // An HDF5 file of another schema where an embedding is expected, and vice versa.
        let prompts = dir + "/prompts.h5"
        try PromptsArtifact(provenance: Provenance(producer: "CLITests"), originalSize: ImageSize(height: 10, width: 10),
                            sets: [.init(points: [.init(x: 1, y: 1)], labels: [1])]).write(to: prompts)
        try assertFails("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", prompts, "--output", dir + "/m.h5",
                                         "--point", "1,1,1"], naming: prompts, output: dir + "/m.h5")
        let parity = try shared("parity/sam-small/parity.h5")
        try assertFails("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", parity, "--output", dir + "/m.h5",
                                         "--point", "1,1,1"], naming: parity, output: dir + "/m.h5")
    }

    func testBatchEncodeContinuesPastABadImageAndResumes() throws {
        let dir = scratchDirectory()
        let checkpoint = try shared("parity/sam-small/weights.pth")
        let bad = dir + "/broken.png"
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0]).write(to: URL(fileURLWithPath: bad))
        let good = try shared("data/samples/dog.jpg")
        let out = dir + "/emb"
        let first = try runStage("vlsam-encode", ["--checkpoint", checkpoint, "--output-dir", out, bad, good])
        XCTAssertEqual(first.status, 1)
        XCTAssertTrue(first.stderr.contains(bad), first.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/dog.embedding.h5"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/broken.embedding.h5"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["dog.embedding.h5"],
                       "no partial files are left")
        let resumed = try runStage("vlsam-encode", ["--checkpoint", checkpoint, "--output-dir", out, "--skip-existing", good])
        XCTAssertEqual(resumed.status, 0)
        XCTAssertTrue(resumed.stderr.contains("skipped"), resumed.stderr)
    }
}

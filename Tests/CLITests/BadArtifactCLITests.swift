import Artifacts
import Checkpoints
import Foundation
import Geometry
import TensorMath
import TestSupport
import XCTest

/// Hostile inputs through the stage programs: the bad-input corpus, outputs that name an input,
/// an embedding from another checkpoint, prompts for another image, prompts outside the image, a
/// full disk. Every refusal is one line "tool: file: problem", exit status 1, and no artifact.
final class BadArtifactCLITests: XCTestCase {
    func shared(_ relative: String) throws -> String {
        guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
        return path
    }

    /// The corpus file copied into the test's scratch folder, which also receives the outputs.
    func scratchCopy(_ name: String, in directory: String) throws -> String {
        let copy = directory + "/" + name
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: badArtifactPath(name), toPath: copy)
        return copy
    }

    func testPointsRefusesEveryBadAttentionArtifact() throws {
        let dir = scratchDirectory()
        let output = dir + "/prompts.h5"
        let good = try runStage("vlsam-points", ["--attention", badArtifactPath("attention.good.h5"), "--output", output])
        XCTAssertEqual(good.status, 0, good.stderr)
        try FileManager.default.removeItem(atPath: output)

        let cases: [(String, String)] = [
            ("attention.wrong_kind.h5", #"not a vlsam.attention artifact (schema attribute is "vlsam.embedding")"#),
            ("attention.nan_map.h5", #"dataset "maps", object 1 ("dog"): value nan at 5 is not in [0, 1]"#),
            ("attention.missing_dataset.h5", #"no dataset "head_weights""#),
            ("attention.absurd_map.h5", #"dataset "maps" announces shape [2, 100000, 100000], 75 GiB in memory, above the limit of 1.0 GiB"#),
            ("embedding.truncated.h5", "HDF5 cannot open the file (truncated file: eof = 7384"),
            ("empty.h5", "file is empty (0 bytes)"),
            ("garbage.h5", "not an HDF5 file"),
        ]
        for (name, problem) in cases {
            let path = badArtifactPath(name)
            // A fixed dataset limit: the default (a quarter of the memory) depends on the machine.
            try assertFails("vlsam-points", ["--attention", path, "--output", output, "--max-dataset-mb", "1024"],
                            naming: path, output: output, containing: ["vlsam-points: \(path): \(problem)"])
        }
    }

    func testDecodeRefusesBadEmbeddings() throws {
        let checkpoint = try shared("parity/efficientsam-vitt/weights.pt")
        let dir = scratchDirectory()
        let output = dir + "/masks.h5"
        let cases: [(String, String)] = [
            ("embedding.nan.h5", #"dataset "image_embedding" holds nan at [3, 10, 20]; its values must be finite"#),
            ("embedding.absurd_size.h5", #"root attribute "original_size" is 100000x100000, 10000000000 pixels, above the limit"#),
            ("embedding.wrong_dtype.h5", #"dataset "image_embedding" holds integers, expected floating-point values"#),
            ("embedding.wrong_kind.h5", "not a vlsam.embedding artifact"),
            ("embedding.truncated.h5", "truncated or corrupt?"),
        ]
        for (name, problem) in cases {
            let path = badArtifactPath(name)
            try assertFails("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", path, "--output", output, "--point", "5,5,1"],
                            naming: path, output: output, containing: [problem])
        }
    }

    /// An embedding of zeros recorded as made by `checkpoint` from a 1200 x 1800 photo.
    func zeroEmbedding(madeBy checkpoint: String, at path: String, modelInputSize: Int = 1024) throws {
        try EmbeddingArtifact(
            provenance: Provenance(producer: "BadArtifactCLITests", modelName: "efficientsam_vitt", checkpointPath: checkpoint,
                                   checkpointSHA256: try sha256Hex(ofFile: checkpoint)),
            family: "efficientsam", originalSize: ImageSize(height: 1200, width: 1800), inputSize: ImageSize(height: 1024, width: 1024),
            modelInputSize: modelInputSize, resize: "stretch_bilinear_torch", pixelMean: [0.485, 0.456, 0.406], pixelStd: [0.229, 0.224, 0.225],
            pixelScale: "0..1", embedding: Tensor(zeros: [256, 64, 64])).write(to: path)
    }

    func testDecodeRefusesAnotherCheckpointAnotherImageAndPromptsOutsideIt() throws {
        let checkpoint = try shared("parity/efficientsam-vitt/weights.pt"), other = try shared("parity/sam-small/weights.pth")
        let dir = scratchDirectory()
        let embedding = dir + "/photo.embedding.h5", output = dir + "/masks.h5"
        try zeroEmbedding(madeBy: checkpoint, at: embedding)
        let decode = ["--checkpoint", checkpoint, "--embedding", embedding, "--output", output]
        let control = try runStage("vlsam-decode", decode + ["--point", "1800,1200,1", "--box", "0,0,1800,1200"])
        XCTAssertEqual(control.status, 0, "the embedding itself decodes: \(control.stderr)")
        try FileManager.default.removeItem(atPath: output)

        try assertFails("vlsam-decode", ["--checkpoint", other, "--embedding", embedding, "--output", output, "--point", "5,5,1"],
                        naming: embedding, output: output, containing: ["was made with efficientsam_vitt \(checkpoint) (sha256 ",
                                                                        "not with sam_custom_d192_l4 \(other) (sha256 "])
        let prompts = badArtifactPath("prompts.good.h5")
        try assertFails("vlsam-decode", decode + ["--prompts", prompts], naming: prompts, output: output,
                        containing: ["prompts are for a 100x150 image, but the embedding \(embedding) is of a 1200x1800 image"])
        try assertFails("vlsam-decode", decode + ["--point", "1801,5,1"], naming: "command line", output: output,
                        containing: ["point 0 (1801.0, 5.0) is outside the 1200x1800 image (x in 0…1800, y in 0…1200)"])
        try assertFails("vlsam-decode", decode + ["--box", "10,10,20,1300"], naming: "command line", output: output,
                        containing: ["box (10.0, 10.0, 20.0, 1300.0) is not inside the 1200x1800 image"])
        // A model input the decoder would upsample to (100 000² floats) is not what this model makes.
        let absurd = dir + "/absurd.embedding.h5"
        try zeroEmbedding(madeBy: checkpoint, at: absurd, modelInputSize: 100_000)
        try assertFails("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", absurd, "--output", output, "--point", "5,5,1"],
                        naming: absurd, output: output,
                        containing: ["records the 1200x1800 image as 1024x1024 in a 100000-pixel model input, but efficientsam_vitt makes 1024x1024 in 1024 pixels"])
        let smallMasks = badArtifactPath("masks.good.h5")
        try assertFails("vlsam-decode", decode + ["--point", "5,5,1", "--mask-input", smallMasks], naming: smallMasks, output: output,
                        containing: ["masks are of a 20x30 image, but the embedding is of a 1200x1800 image"])

        // Reversed boxes and negative coordinates are argument errors: refused before the model loads.
        for (arguments, problem) in [(["--box", "700,600,425,875"], "Error: --box 700,600,425,875: reversed"),
                                     (["--box", "10,600,20,500"], "Error: --box 10,600,20,500: reversed"),
                                     (["--point=-3,5,1"], "Error: --point -3,5,1: x and y must not be negative")] {
            let result = try runStage("vlsam-decode", decode + arguments)
            XCTAssertEqual(result.status, 64, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix(problem), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        }
    }

    /// The output path leads to an input (the same name, a symbolic link, a hard link): refused,
    /// and the input keeps its bytes.
    func assertRefusesOverwriting(_ tool: String, _ arguments: [String], input: String, role: String, output: String,
                                  line: UInt = #line) throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let result = try runStage(tool, arguments)
        XCTAssertEqual(result.status, 1, result.stderr, line: line)
        XCTAssertEqual(result.stderr, "\(tool): \(output): is the same as the \(role) \(input); refusing to overwrite an input\n",
                       line: line)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: input)), before, "\(input) changed", line: line)
    }

    /// `path`, a symbolic link to it and a hard link to it.
    func aliases(of path: String) throws -> [String] {
        let symbolic = path + ".symlink", hard = path + ".hardlink"
        for alias in [symbolic, hard] { try? FileManager.default.removeItem(atPath: alias) }
        try FileManager.default.createSymbolicLink(atPath: symbolic, withDestinationPath: path)
        try FileManager.default.linkItem(atPath: path, toPath: hard)
        return [path, symbolic, hard]
    }

    func testPointsRefusesAnOutputThatIsItsInput() throws {
        let dir = scratchDirectory()
        let attention = try scratchCopy("attention.good.h5", in: dir)
        for output in try aliases(of: attention) {
            try assertRefusesOverwriting("vlsam-points", ["--attention", attention, "--output", output], input: attention, role: "attention", output: output)
        }
    }

    func testEncodeAndDecodeRefuseAnOutputThatIsAnInput() throws {
        let checkpoint = try shared("parity/efficientsam-vitt/weights.pt")
        let dir = scratchDirectory()
        let photo = dir + "/photo.jpg", embedding = dir + "/photo.embedding.h5"
        try? FileManager.default.removeItem(atPath: photo)
        try FileManager.default.copyItem(atPath: try shared("parity/efficientsam-vitt/image.jpg"), toPath: photo)
        for output in try aliases(of: photo) {
            try assertRefusesOverwriting("vlsam-encode", ["--checkpoint", checkpoint, "--output", output, photo], input: photo, role: "image", output: output)
        }
        try zeroEmbedding(madeBy: checkpoint, at: embedding)
        for output in try aliases(of: embedding) {
            try assertRefusesOverwriting("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", embedding, "--output", output,
                                                          "--point", "5,5,1"], input: embedding, role: "embedding", output: output)
        }
        let masks = dir + "/masks.h5"
        let decoded = try runStage("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", embedding, "--output", masks, "--point", "5,5,1"])
        XCTAssertEqual(decoded.status, 0, decoded.stderr)
        try assertRefusesOverwriting("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", embedding, "--output", masks,
                                                      "--point", "5,5,1", "--mask-input", masks], input: masks, role: "mask input", output: masks)
    }

    func testListAndRandomWeightsRefuseAnOutputThatIsAnInput() throws {
        let original = try shared("parity/smolvlm-tiny")
        let dir = scratchDirectory()
        // The model folder as symbolic links, so a failing test could not touch ../shared.
        let model = dir + "/smolvlm-tiny"
        try? FileManager.default.removeItem(atPath: model)
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: original) {
            try FileManager.default.createSymbolicLink(atPath: model + "/" + file, withDestinationPath: original + "/" + file)
        }
        let photo = dir + "/photo.jpg"
        try? FileManager.default.removeItem(atPath: photo)
        try FileManager.default.copyItem(atPath: try shared("data/samples/truck.jpg"), toPath: photo)
        try assertRefusesOverwriting("vlsam-list", ["--model", model, "--output", photo, photo, "--objects", "truck"],
                                     input: photo, role: "image", output: photo)
        let weights = model + "/model.safetensors"
        try assertRefusesOverwriting("vlsam-list", ["--model", model, "--output", weights, photo, "--objects", "truck"],
                                     input: weights, role: "model file", output: weights)

        // vlsam-random-weights copies the files beside the config into its output folder: not into their own folder.
        let folder = dir + "/model", config = folder + "/config.json"
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: model + "/config.json", toPath: config)
        let before = try Data(contentsOf: URL(fileURLWithPath: config))
        let result = try runStage("vlsam-random-weights", ["--config", config, "--output", folder])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertEqual(result.stderr, "vlsam-random-weights: \(folder): is the same as the folder of the config \(folder); refusing to overwrite an input\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: config)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["config.json"])
    }

    /// A full disk (a 64 KiB tmpfs): the error line and exit 1, no crash at exit, nothing left.
    func testFullDiskGivesOneErrorLineAndExitOne() throws {
        let checkpoint = try shared("parity/efficientsam-vitt/weights.pt")
        let photo = try shared("parity/efficientsam-vitt/image.jpg")
        let embedding = scratchDirectory() + "/photo.embedding.h5"
        try zeroEmbedding(madeBy: checkpoint, at: embedding)
        try withSmallFilesystem(kilobytes: 64) { full in
            let output = full + "/photo.embedding.h5"
            try assertFails("vlsam-encode", ["--checkpoint", checkpoint, "--output", output, photo], naming: output, output: output,
                            containing: ["No space left on device"])
            let masks = full + "/masks.h5"
            try assertFails("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", embedding, "--output", masks, "--point", "5,5,1"],
                            naming: masks, output: masks, containing: ["No space left on device"])
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: full), [])
        }
    }
}

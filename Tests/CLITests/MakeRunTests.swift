import Artifacts
import Checkpoints
import Foundation
import Imaging
import TestSupport
import XCTest

/// `make run` (pipelines/vlsam.mk) against `vlsam-run` on the parity bundles' random-weight models:
/// the same artifacts, nothing redone when nothing changed, and exactly the stages downstream of a
/// changed option redone when one did.
final class MakeRunTests: XCTestCase {
    static let objects = "truck, dog, window"

    func testMakeRunMakesWhatVlsamRunMakesAndRerunsOnlyWhatChanged() throws {
        guard let vlm = sharedPath("parity/smolvlm-tiny"), let sam = sharedPath("parity/efficientsam-vitt/weights.pt") else {
            throw XCTSkip(missingShared("parity"))
        }
        for tool in ["make", "flock"] where executableInPath(tool) == nil {
            throw XCTSkip("skipped: \(tool) is not on PATH")
        }
        let dir = scratchDirectory(), images = dir + "/photos", out1 = dir + "/driver", out2 = dir + "/make"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        for name in ["truck.jpg", "dog.jpg"] {
            guard let path = sharedPath("data/samples/\(name)") else { throw XCTSkip(missingShared("data/samples")) }
            try? FileManager.default.removeItem(atPath: images + "/" + name)
            try FileManager.default.copyItem(atPath: path, toPath: images + "/" + name)
        }
        for out in [out1, out2] { try? FileManager.default.removeItem(atPath: out) }

        let driver = try runStage("vlsam-run", ["--images", images, "--out", out1, "--vlm", vlm, "--sam", sam,
                                                "--objects", Self.objects, "--no-split", "--iterations", "1"])
        XCTAssertEqual(driver.status, 0, driver.stderr)
        let makeArguments = ["IMAGE_DIR=\(images)", "OUT=\(out2)", "VLM=\(vlm)", "CHECKPOINT=\(sam)",
                             "OBJECTS=\(Self.objects)", "SPLIT=no", "K=1", "-j2"]
        let first = try runMake(makeArguments)
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.output.contains("WARNING") && first.output.contains("random parity weights"), first.output)

        // The same files, and in every HDF5 artifact the same datasets and attributes.
        let artifacts = try hdf5Files(under: out1)
        XCTAssertEqual(artifacts.count, 2 * 8, "\(artifacts)")
        XCTAssertEqual(artifacts, try hdf5Files(under: out2))
        for artifact in artifacts {
            try compareArtifacts(artifact, out1: out1, out2: out2)
        }
        for stem in ["truck", "dog"] {
            for file in ["overlay.png", "thumbnail.png", "panels"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out2)/photos/\(stem)/\(file)"), "\(stem)/\(file)")
            }
        }
        for file in ["detections.json", "images.json", "report.html", "run.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out2)/\(file)"), file)
        }
        XCTAssertEqual(try String(contentsOfFile: out2 + "/images.json", encoding: .utf8),
                       try String(contentsOfFile: out1 + "/images.json", encoding: .utf8))
        XCTAssertEqual(try String(contentsOfFile: out2 + "/detections.json", encoding: .utf8),
                       try String(contentsOfFile: out1 + "/detections.json", encoding: .utf8))

        // Nothing changed: no stage and no merge runs, no file is touched.
        let before = try modificationTimes(under: out2)
        let again = try runMake(makeArguments)
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertFalse(again.output.contains("flock ") || again.output.contains("--merge"), again.output)
        XCTAssertEqual(try modificationTimes(under: out2), before)

        // A changed threshold reruns points, decode and the merge, nothing upstream of points.
        let changed = try runMake(makeArguments + ["THRESHOLD=0.3"])
        XCTAssertEqual(changed.status, 0, changed.output)
        let after = try modificationTimes(under: out2)
        let rewritten = Set(artifacts.filter { after[$0] != before[$0] })
        let expected = Set(["truck", "dog"].flatMap { stem in
            ["prompts.0.h5", "masks.0.h5", "prompts.1.h5", "masks.1.h5", "detections.h5"].map { "photos/\(stem)/\($0)" }
        })
        XCTAssertEqual(rewritten, expected, changed.output)
        XCTAssertNotEqual(after["report.html"], before["report.html"])

        // The driver finds every artifact make wrote exactly as it would have made it.
        let plan = try runStageOutput("vlsam-run", ["--images", images, "--out", out2, "--vlm", vlm, "--sam", sam,
                                                    "--objects", Self.objects, "--no-split", "--iterations", "1",
                                                    "--threshold", "0.3", "--dry-run"])
        XCTAssertTrue(plan.contains("truck.jpg: up to date") && plan.contains("dog.jpg: up to date"), plan)
    }

    /// IMAGE_DIR holds truck.jpg, Truck.png (the dog) and an undecodable broken.jpg: make finishes
    /// the two photos, each in a folder of its own named as vlsam-run names it, names the bad one,
    /// lists it as failed in report.html, and fails.
    func testABadPhotoFailsAloneAndStemsOfOneNameGetFoldersOfTheirOwn() throws {
        guard let vlm = sharedPath("parity/smolvlm-tiny"), let sam = sharedPath("parity/efficientsam-vitt/weights.pt"),
              let truck = sharedPath("data/samples/truck.jpg"), let dog = sharedPath("data/samples/dog.jpg") else {
            throw XCTSkip(missingShared("parity and data/samples"))
        }
        for tool in ["make", "flock"] where executableInPath(tool) == nil {
            throw XCTSkip("skipped: \(tool) is not on PATH")
        }
        let dir = scratchDirectory(), images = dir + "/photos", out = dir + "/out"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: truck, toPath: images + "/truck.jpg")
        try writePNG(try decodeImage(atPath: dog), to: images + "/Truck.png")
        try Data("not a photo".utf8).write(to: URL(fileURLWithPath: images + "/broken.jpg"))

        let result = try runMake(["IMAGE_DIR=\(images)", "OUT=\(out)", "VLM=\(vlm)", "CHECKPOINT=\(sam)",
                                  "OBJECTS=\(Self.objects)", "SPLIT=no", "K=0", "-j2"])
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("run: FAILED photos: broken.jpg "), result.output)
        // printf '%s' truck.jpg | sha256sum → da1e8e76…, Truck.png → bcbd3752…
        for (photo, folder) in [(images + "/truck.jpg", "truck-da1e8e76"), (images + "/Truck.png", "Truck-bcbd3752")] {
            let expected = try sha256Hex(ofFile: photo), files = "\(out)/photos/\(folder)"
            XCTAssertEqual(try ObjectsArtifact.read(from: files + "/objects.h5").provenance.sourceImageSHA256, expected, folder)
            XCTAssertEqual(try EmbeddingArtifact.read(from: files + "/embedding.h5").provenance.sourceImageSHA256, expected, folder)
            XCTAssertEqual(try DetectionsArtifact.read(from: files + "/detections.h5").provenance.sourceImageSHA256, expected, folder)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/photos/broken/embedding.h5"))
        let page = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        XCTAssertTrue(page.contains("broken.jpg: not a JPEG or PNG file"), page)
        let list = try String(contentsOfFile: out + "/images.json", encoding: .utf8)
        XCTAssertTrue(list.contains("\"Truck.png\"") && list.contains("\"truck.jpg\"") && !list.contains("broken"), list)

        // vlsam-run finds both photos' artifacts in the folders it would have used.
        let plan = try runStageOutput("vlsam-run", ["--images", images, "--out", out, "--vlm", vlm, "--sam", sam,
                                                    "--objects", Self.objects, "--no-split", "--iterations", "0", "--dry-run"])
        XCTAssertTrue(plan.contains("truck.jpg: up to date") && plan.contains("Truck.png: up to date"), plan)
    }

    func testAFolderWithoutPhotosIsAnError() throws {
        guard executableInPath("make") != nil else { throw XCTSkip("skipped: make is not on PATH") }
        let dir = scratchDirectory(), empty = dir + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try Data("not a photo".utf8).write(to: URL(fileURLWithPath: empty + "/notes.txt"))
        let none = try runMake(["IMAGE_DIR=\(empty)", "OUT=\(dir)/out"])
        XCTAssertNotEqual(none.status, 0, none.output)
        XCTAssertTrue(none.output.contains("IMAGE_DIR=\(empty) holds no photos"), none.output)
        let missing = try runMake(["IMAGE_DIR=\(dir)/nowhere", "OUT=\(dir)/out"])
        XCTAssertNotEqual(missing.status, 0, missing.output)
        XCTAssertTrue(missing.output.contains("IMAGE_DIR=\(dir)/nowhere is not a folder"), missing.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"))
    }

    // MARK: - Comparing artifacts

    /// Compares `relative` under the two output folders: every dataset must be equal (shape and
    /// values), and so must every root and dataset attribute, except
    /// - `created_utc` (when the file was written);
    /// - `*_file` attributes (objects, attention, masks, prompts, embedding): paths of artifacts under OUT,
    ///   which must name the corresponding file of their own OUT;
    /// - their `*_sha256` companions and the detections' `input_sha256` dataset: SHA-256 of those files,
    ///   which differ as the files hold their own `created_utc`; each must be the SHA-256 of the file
    ///   it names in its own OUT.
    /// `checkpoint_path`, `checkpoint_sha256`, `source_image` and `source_image_sha256` name the
    /// same inputs both ways, so they must be equal.
    func compareArtifacts(_ relative: String, out1: String, out2: String) throws {
        let a = try HDF5File(readingAt: out1 + "/" + relative), b = try HDF5File(readingAt: out2 + "/" + relative)
        let datasets = try datasetPaths(a, group: "/")
        XCTAssertEqual(datasets, try datasetPaths(b, group: "/"), relative)
        for dataset in datasets {
            XCTAssertEqual(try a.shape(dataset), try b.shape(dataset), "\(relative) \(dataset)")
            if dataset == "/input_sha256" {
                let files = try a.readStrings("/input_files")
                XCTAssertEqual(files, try b.readStrings("/input_files"), relative)
                let folder = (relative as NSString).deletingLastPathComponent
                for (file, out) in [(a, out1), (b, out2)] {
                    XCTAssertEqual(try file.readStrings(dataset), try files.map { try sha256Hex(ofFile: "\(out)/\(folder)/\($0)") },
                                   "\(file.path) \(dataset)")
                }
                continue
            }
            XCTAssertTrue(try values(a, dataset) == values(b, dataset), "\(relative): dataset \(dataset) differs")
            for attribute in ["description", "layout"] {
                XCTAssertEqual(try attributeValue(a, attribute, at: dataset), try attributeValue(b, attribute, at: dataset),
                               "\(relative) \(dataset) attribute \(attribute)")
            }
        }
        var compared = 0
        for name in Self.rootAttributes where name != "created_utc" {
            let (x, y) = (try attributeValue(a, name, at: "/"), try attributeValue(b, name, at: "/"))
            XCTAssertEqual(x == nil, y == nil, "\(relative): attribute \(name) is in one file only")
            guard let x, let y else { continue }
            compared += 1
            if name.hasSuffix("_file") {
                XCTAssertEqual(x.replacingOccurrences(of: out1 + "/", with: out2 + "/"), y, "\(relative): attribute \(name)")
            } else if let kind = Self.artifactHashes[name] {
                for (file, out, value) in [(a, out1, x), (b, out2, y)] {
                    let named = try XCTUnwrap(file.attributeString(kind + "_file"))
                    XCTAssertTrue(named.hasPrefix(out + "/") || named.isEmpty, "\(file.path): \(kind)_file \(named)")
                    XCTAssertEqual(value, named.isEmpty ? "\"\"" : "\"\(try sha256Hex(ofFile: named))\"", "\(file.path): \(name)")
                }
            } else {
                XCTAssertEqual(x, y, "\(relative): attribute \(name)")
            }
        }
        XCTAssertGreaterThanOrEqual(compared, 11, "\(relative): the provenance attributes")
    }

    /// Every root attribute of the artifact schemas (docs/artifacts.md).
    static let rootAttributes = [
        "schema", "schema_version", "producer", "producer_version", "created_utc", "model_name", "checkpoint_path",
        "checkpoint_sha256", "source_image", "source_image_sha256", "parameters",
        "original_size", "model_family", "input_size", "model_input_size", "resize", "pixel_mean", "pixel_std", "pixel_scale",
        "refinement_iteration", "attention_file", "attention_sha256", "masks_file", "masks_sha256",
        "prompts_file", "prompts_sha256", "command_line_prompts", "multimask", "mask_threshold", "threshold_rule",
        "embedding_file", "embedding_sha256", "mode", "image_splitting", "grid_side", "prompt_length",
        "map_rect", "objects_file", "objects_sha256", "flow", "alpha", "regularization", "query", "tiles",
    ]
    /// Attributes holding the SHA-256 of another artifact under OUT, by the prefix of its `_file` attribute.
    static let artifactHashes = ["objects_sha256": "objects", "attention_sha256": "attention", "masks_sha256": "masks",
                                 "prompts_sha256": "prompts", "embedding_sha256": "embedding"]

    /// The dataset paths of a group, recursively.
    func datasetPaths(_ file: HDF5File, group: String) throws -> [String] {
        try file.members(ofGroup: group).flatMap { name -> [String] in
            let path = (group == "/" ? "/" : group + "/") + name
            if let inner = try? datasetPaths(file, group: path) { return inner }
            return [path]
        }
    }

    enum Values: Equatable {
        case strings([String]), integers([Int64]), reals([Double])
    }

    /// A dataset's values in their own kind: strings, integers, or reals (float32/64 exactly).
    func values(_ file: HDF5File, _ dataset: String) throws -> Values {
        if let strings = try? file.readStrings(dataset) { return .strings(strings) }
        if let integers = try? file.readInt64(dataset) { return .integers(integers.values) }
        return .reals(try file.readDouble(dataset).values)
    }

    /// An attribute's value as text (strings quoted, numbers as read), nil when absent.
    func attributeValue(_ file: HDF5File, _ name: String, at object: String) throws -> String? {
        guard try file.hasAttribute(name, at: object) else { return nil }
        if let text = try? file.attributeString(name, at: object) { return "\"\(text)\"" }
        if let integers = try? file.attributeInts(name, at: object) { return "\(integers)" }
        return "\(try XCTUnwrap(file.attributeDoubles(name, at: object)))"
    }

    // MARK: - Files and processes

    /// The HDF5 files under `folder`, relative to it, sorted.
    func hdf5Files(under folder: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: folder).filter { $0.hasSuffix(".h5") }.sorted()
    }

    /// Every file under `folder` (relative path) with its modification time.
    func modificationTimes(under folder: String) throws -> [String: Date] {
        var times: [String: Date] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: folder) {
            let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/" + path)
            if attributes[.type] as? FileAttributeType == .typeRegular { times[path] = attributes[.modificationDate] as? Date }
        }
        return times
    }

    func executableInPath(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// `make -C <package root> run BIN=<the programs beside the test bundle> …`: exit status and
    /// everything it printed.
    func runMake(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let bundle = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }
        let products = (bundle?.bundleURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).deletingLastPathComponent()
        guard FileManager.default.isExecutableFile(atPath: products.appendingPathComponent("vlsam-run").path) else {
            throw XCTSkip("\(products.path)/vlsam-run is not built")
        }
        // Tests/CLITests/MakeRunTests.swift → the package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try XCTUnwrap(executableInPath("make")))
        process.arguments = ["-C", root, "--no-print-directory", "run", "BIN=\(products.path)"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

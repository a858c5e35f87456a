import Artifacts
import Checkpoints
import Foundation
import Imaging
import TestSupport
import XCTest

/// `vlsam-run` on the parity bundles' random-weight models: resume, dry runs, bad photos, two
/// drivers on one folder. (The masks mean nothing; the bookkeeping is what is checked.)
final class RunCLITests: XCTestCase {
    /// Two sample photos copied into a fresh folder, so tests can add bad files beside them.
    func photos(_ dir: String) throws -> String {
        let folder = dir + "/photos"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["truck.jpg", "dog.jpg"] {
            guard let path = sharedPath("data/samples/\(name)") else { throw XCTSkip(missingShared("data/samples")) }
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
            try FileManager.default.copyItem(atPath: path, toPath: folder + "/" + name)
        }
        return folder
    }

    func models() throws -> [String] {
        guard let vlm = sharedPath("parity/smolvlm-tiny"), let sam = sharedPath("parity/efficientsam-vitt/weights.pt") else {
            throw XCTSkip(missingShared("parity"))
        }
        return ["--vlm", vlm, "--sam", sam, "--objects", "truck, dog, window", "--no-split", "--iterations", "1"]
    }

    /// The run log's records.
    func log(_ out: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: out + "/run.jsonl", encoding: .utf8)
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func testRunResumeAndDryRun() throws {
        let dir = scratchDirectory()
        let images = try photos(dir), out = dir + "/out", base = try models() + ["--images", images, "--out", out]
        let first = try runStage("vlsam-run", base)
        XCTAssertEqual(first.status, 0, first.stderr)
        for stem in ["truck", "dog"] {
            for file in ["objects.h5", "attention.h5", "prompts.0.h5", "masks.0.h5", "prompts.1.h5", "masks.1.h5",
                         "embedding.h5", "detections.h5", "overlay.png"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/photos/\(stem)/\(file)"), "\(stem)/\(file)")
            }
        }
        for file in ["detections.json", "images.json", "report.html", "run.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(file)"), file)
        }
        XCTAssertTrue(first.stderr.contains("WARNING") && first.stderr.contains("random weights"), first.stderr)
        // Made from the parity bundles' random weights, and every artifact says so.
        XCTAssertTrue(try ObjectsArtifact.read(from: out + "/photos/truck/objects.h5").provenance.randomWeights)
        XCTAssertTrue(try PromptsArtifact.read(from: out + "/photos/truck/prompts.1.h5").provenance.randomWeights)
        XCTAssertTrue(try MasksArtifact.read(from: out + "/photos/truck/masks.1.h5").provenance.randomWeights)
        XCTAssertTrue(try DetectionsArtifact.read(from: out + "/photos/truck/detections.h5").provenance.randomWeights)
        // The report has a row per photo and refers only to files that exist.
        let page = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        XCTAssertTrue(page.contains("truck.jpg") && page.contains("dog.jpg"))
        let references = page.components(separatedBy: "src=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
            + page.components(separatedBy: "href=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        XCTAssertGreaterThanOrEqual(references.count, 4, page)
        for reference in references {
            let path = out + "/" + (String(reference).removingPercentEncoding ?? String(reference))
            XCTAssertTrue(FileManager.default.fileExists(atPath: path), "report.html refers to a missing \(reference)")
        }

        // Nothing changed: everything is reused.
        let again = try runStage("vlsam-run", base + ["--dry-run"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let plan = try runStageOutput("vlsam-run", base + ["--dry-run"])
        XCTAssertTrue(plan.contains("truck.jpg: up to date") && plan.contains("dog.jpg: up to date"), plan)

        // A changed point threshold reruns exactly the steps downstream of points.
        let changed = try runStageOutput("vlsam-run", base + ["--threshold", "0.6", "--dry-run"])
        let steps = changed.split(separator: "\n").filter { $0.hasPrefix("  run ") }.map { $0.split(separator: " ")[1] }
        XCTAssertEqual(steps.count, 10, changed)
        XCTAssertEqual(Set(steps), ["points", "decode", "refine", "detections"], changed)
        XCTAssertTrue(changed.contains("parameter threshold changed"), changed)

        // A deleted artifact is made again, with what depends on it; the rest is reused.
        try FileManager.default.removeItem(atPath: out + "/photos/dog/masks.0.h5")
        let before = try log(out).count
        let resumed = try runStage("vlsam-run", base)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let ran = try log(out).dropFirst(before).filter { $0["status"] as? String == "ran" }
            .map { "\(($0["photo"] as! NSString).lastPathComponent) \(($0["output"] as! NSString).lastPathComponent)" }
        XCTAssertEqual(Set(ran), ["dog.jpg masks.0.h5", "dog.jpg prompts.1.h5", "dog.jpg masks.1.h5", "dog.jpg detections.h5"])
    }

    func testABadPhotoIsLoggedAndTheBatchFinishes() throws {
        let dir = scratchDirectory()
        let images = try photos(dir), out = dir + "/out"
        try Data("not a photo".utf8).write(to: URL(fileURLWithPath: images + "/broken.JPG"))
        let result = try runStage("vlsam-run", try models() + ["--images", images, "--out", out])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("broken.JPG"), result.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/photos/truck/detections.h5"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/photos/dog/detections.h5"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/photos/broken/detections.h5"))
        let failures = try log(out).filter { $0["status"] as? String == "failed" && $0["stage"] as? String == "photo" }
        XCTAssertEqual(failures.map { ($0["photo"] as! NSString).lastPathComponent }, ["broken.JPG"])
    }

    /// Acceptance 6 of the driver issue: an undecodable file and a photo where no object is
    /// localised. At tau = 1 only a map whose maximum sits on a border plateau keeps a candidate
    /// (P reaches 1 nowhere else); with these random weights no object of the groceries photo does.
    func testABadPhotoAndAPhotoWithNothingLocalised() throws {
        let dir = scratchDirectory()
        let images = try photos(dir), out = dir + "/out"
        try FileManager.default.copyItem(atPath: try XCTUnwrap(sharedPath("data/samples/groceries.jpg")),
                                         toPath: images + "/groceries.jpg")
        try Data([0xFF, 0xD8, 0xFF, 0x00]).write(to: URL(fileURLWithPath: images + "/cut.jpeg"))
        let result = try runStage("vlsam-run", try models() + ["--images", images, "--out", out, "--threshold", "1",
                                                                "--iterations", "0"])
        XCTAssertEqual(result.status, 1, result.stderr)
        let photos = try log(out).filter { $0["stage"] as? String == "photo" }
        func record(_ name: String) -> [String: Any]? { photos.first { ($0["photo"] as! NSString).lastPathComponent == name } }
        XCTAssertEqual(record("cut.jpeg")?["status"] as? String, "failed")
        XCTAssertTrue((record("cut.jpeg")?["error"] as? String ?? "").contains("cut.jpeg"))
        XCTAssertEqual(record("groceries.jpg")?["status"] as? String, "done")
        XCTAssertEqual(record("groceries.jpg")?["detections"] as? Int, 0)
        XCTAssertTrue((record("groceries.jpg")?["note"] as? String ?? "").contains("no object was localised"))
        let prompts = try PromptsArtifact.read(from: out + "/photos/groceries/prompts.0.h5")
        XCTAssertEqual(prompts.sets.map(\.localised), [false, false, false])
        XCTAssertEqual(try MasksArtifact.read(from: out + "/photos/groceries/masks.0.h5").setSkipped, [true, true, true])
        // The other photos are complete, and the report lists all four.
        for stem in ["truck", "dog", "groceries"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/photos/\(stem)/detections.h5"), stem)
        }
        let page = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        XCTAssertTrue(["truck.jpg", "dog.jpg", "groceries.jpg", "cut.jpeg"].allSatisfy(page.contains), page)
    }

    func testTwoDriversOnOneFolderComputeEachStepOnce() throws {
        let dir = scratchDirectory()
        let images = try photos(dir), out = dir + "/out", arguments = try models() + ["--images", images, "--out", out]
        // Two processes started together; each thread writes only its own slot.
        let results = UnsafeMutableBufferPointer<ToolRun?>.allocate(capacity: 2)
        defer { results.deallocate() }
        results.initialize(repeating: nil)
        DispatchQueue.concurrentPerform(iterations: 2) { i in results[i] = try? runStage("vlsam-run", arguments) }
        for result in results { XCTAssertEqual(result?.status, 0, result?.stderr ?? "did not run") }
        let ran = try log(out).filter { $0["status"] as? String == "ran" }.map { "\($0["photo"]!) \($0["output"]!)" }
        XCTAssertEqual(ran.count, Set(ran).count, "a step ran twice: \(ran)")
        XCTAssertEqual(ran.count, 2 * 8, "every step of both photos ran once")
    }
}

extension RunCLITests {
    /// Three shards at once, then `--merge`: the same detections.json as one unsharded run.
    func testShardsMergeToTheUnshardedResult() throws {
        let dir = scratchDirectory()
        let images = try photos(dir)
        try FileManager.default.copyItem(atPath: try XCTUnwrap(sharedPath("data/samples/groceries.jpg")),
                                         toPath: images + "/groceries.jpg")
        let arguments = try models() + ["--images", images, "--iterations", "0"]
        let whole = try runStage("vlsam-run", arguments + ["--out", dir + "/whole"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let sharded = dir + "/sharded"
        let results = UnsafeMutableBufferPointer<ToolRun?>.allocate(capacity: 3)
        defer { results.deallocate() }
        results.initialize(repeating: nil)
        DispatchQueue.concurrentPerform(iterations: 3) { i in
            results[i] = try? runStage("vlsam-run", arguments + ["--out", sharded, "--shard", "\(i + 1)/3"])
        }
        for result in results { XCTAssertEqual(result?.status, 0, result?.stderr ?? "did not run") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: sharded + "/detections.json"), "a shard wrote the batch files")
        let stems = try FileManager.default.contentsOfDirectory(atPath: sharded + "/photos").sorted()
        XCTAssertEqual(stems, ["dog", "groceries", "truck"])
        let merged = try runStage("vlsam-run", arguments + ["--out", sharded, "--merge"])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        let expected = try String(contentsOfFile: dir + "/whole/detections.json", encoding: .utf8)
        XCTAssertEqual(try String(contentsOfFile: sharded + "/detections.json", encoding: .utf8), expected)
        XCTAssertTrue(expected.contains("\"image_id\":3"), "three photos' detections")
        XCTAssertEqual(try String(contentsOfFile: sharded + "/images.json", encoding: .utf8),
                       try String(contentsOfFile: dir + "/whole/images.json", encoding: .utf8))
    }
}

/// Standard output of a stage run (for `--dry-run` and `--print-config`).
func runStageOutput(_ tool: String, _ arguments: [String]) throws -> String {
    let bundle = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }
    let products = (bundle?.bundleURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).deletingLastPathComponent()
    let process = Process()
    process.executableURL = products.appendingPathComponent(tool)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

extension RunCLITests {
    /// `a/truck.jpg` (the truck) and `b/truck.jpg` (the dog) in one batch: each gets a folder of
    /// its own (`truck-<hash of its path below the batch's root>`), made from its own photo, and
    /// the exports name each by its relative path. Two shards and a merge name them alike.
    func testPhotosOfOneNameGetFoldersOfTheirOwn() throws {
        let dir = scratchDirectory()
        let truck = dir + "/a/truck.jpg", dog = dir + "/b/truck.jpg"
        for (source, copy) in [("truck.jpg", truck), ("dog.jpg", dog)] {
            guard let path = sharedPath("data/samples/\(source)") else { throw XCTSkip(missingShared("data/samples")) }
            try FileManager.default.createDirectory(atPath: (copy as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: path, toPath: copy)
        }
        let list = dir + "/photos.txt"
        try "\(truck)\n\(dog)\n".write(toFile: list, atomically: true, encoding: .utf8)
        let arguments = try models() + ["--list", list, "--iterations", "0"]
        let whole = dir + "/whole", sharded = dir + "/sharded"
        let result = try runStage("vlsam-run", arguments + ["--out", whole])
        XCTAssertEqual(result.status, 0, result.stderr)

        // printf '%s' a/truck.jpg | sha256sum → 5008b0ab…, b/truck.jpg → 08d8fa92…
        let folders = [(truck, "truck-5008b0ab"), (dog, "truck-08d8fa92")]
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: whole + "/photos").sorted(), folders.map(\.1).sorted())
        for (photo, folder) in folders {
            let expected = try sha256Hex(ofFile: photo), files = "\(whole)/photos/\(folder)"
            XCTAssertEqual(try ObjectsArtifact.read(from: files + "/objects.h5").provenance.sourceImageSHA256, expected, folder)
            XCTAssertEqual(try EmbeddingArtifact.read(from: files + "/embedding.h5").provenance.sourceImageSHA256, expected, folder)
            XCTAssertEqual(try DetectionsArtifact.read(from: files + "/detections.h5").provenance.sourceImageSHA256, expected, folder)
        }
        // images.json names each photo with its own size, and every detection lies on its photo.
        let images = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: whole + "/images.json")))
                                   as? [[String: Any]])
        var sizes: [Int: [Int]] = [:]
        for (photo, name) in [(truck, "a/truck.jpg"), (dog, "b/truck.jpg")] {
            let entry = try XCTUnwrap(images.first { $0["file_name"] as? String == name }, "\(name) in images.json")
            let pixels = try decodeImage(atPath: photo)
            XCTAssertEqual([entry["height"] as? Int, entry["width"] as? Int], [pixels.height, pixels.width], name)
            sizes[try XCTUnwrap(entry["id"] as? Int)] = [pixels.height, pixels.width]
        }
        let detections = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: whole + "/detections.json")))
                                       as? [[String: Any]])
        XCTAssertFalse(detections.isEmpty)
        for detection in detections {
            let size = (detection["segmentation"] as? [String: Any])?["size"] as? [Int]
            XCTAssertEqual(size, sizes[detection["image_id"] as? Int ?? 0], "\(detection["image_id"] ?? "no id")")
        }
        let page = try String(contentsOfFile: whole + "/report.html", encoding: .utf8)
        XCTAssertTrue(page.contains("a/truck.jpg") && page.contains("b/truck.jpg"), page)

        for shard in ["1/2", "2/2"] {
            let run = try runStage("vlsam-run", arguments + ["--out", sharded, "--shard", shard])
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        let merged = try runStage("vlsam-run", arguments + ["--out", sharded, "--merge"])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: sharded + "/photos").sorted(), folders.map(\.1).sorted())
        XCTAssertEqual(try String(contentsOfFile: sharded + "/detections.json", encoding: .utf8),
                       try String(contentsOfFile: whole + "/detections.json", encoding: .utf8))
    }

    /// Temporary files of a killed writer (its pid gone) are removed; a live writer's are not.
    func testLeftoversOfGoneWritersAreRemovedAndLiveOnesKept() throws {
        let out = scratchDirectory() + "/out"
        try? FileManager.default.removeItem(atPath: out)
        try FileManager.default.createDirectory(atPath: out + "/photos/truck", withIntermediateDirectories: true)
        let finished = Process(), sleeper = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["60"]
        try finished.run()
        finished.waitUntilExit()
        try sleeper.run()
        defer { sleeper.terminate() }
        let dead = "\(out)/photos/truck/.masks.0.h5.partial-\(finished.processIdentifier)"
        let live = ["\(out)/photos/truck/.masks.1.h5.partial-\(sleeper.processIdentifier)",
                    "\(out)/.report.html.partial-\(getpid()).abcdef"]
        for path in [dead] + live { XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()), path) }
        let result = try runStage("vlsam-run", ["--out", out, "--remove-leftovers"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("removed 1 temporary files"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead))
        for path in live { XCTAssertTrue(FileManager.default.fileExists(atPath: path), path) }
    }
}

import Artifacts
import Foundation
import Geometry
import TestSupport
import XCTest

/// The bad-input corpus (scripts/make_bad_inputs.py) through the programs: a bad photo is one
/// line naming it, a non-zero exit and no file left; an EXIF-rotated photo is upright in every
/// stage; a batch finishes its good photos and names the bad ones.
final class BadImageCLITests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/bad-input/images").path
    /// Stored 24 wide and 16 high; orientation 6 shows it turned, 16 wide and 24 high.
    static let rotated = corpus + "/exif-orientation-6.jpg"
    static let upright = ImageSize(height: 24, width: 16)
    static let badPhotos = ["zero-byte.jpg", "garbage.png", "jpeg-half.jpg", "png-100000x100000.png", "jpeg-12-bit.jpg"]

    func shared(_ relative: String) throws -> String {
        guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
        return path
    }

    /// Fails unless the run failed with exactly one stderr line, "tool: path: …", and left its
    /// output folder empty (no artifact, no temporary file).
    func assertRefused(_ result: ToolRun, _ tool: String, _ path: String, mentioning fragment: String? = nil,
                       folder: String, line: UInt = #line) throws {
        XCTAssertEqual(result.status, 1, result.stderr, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stderr, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("\(tool): \(path): "), result.stderr, line: line)
        if let fragment { XCTAssertTrue(result.stderr.contains(fragment), result.stderr, line: line) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [], "left behind", line: line)
    }

    func testEncodeAndListRefuseBadPhotos() throws {
        let checkpoint = try shared("parity/efficientsam-vitt/weights.pt"), vlm = try shared("parity/smolvlm-tiny")
        for name in Self.badPhotos {
            let photo = Self.corpus + "/" + name, folder = scratchDirectory() + "/" + name
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try assertRefused(try runStage("vlsam-encode", ["--checkpoint", checkpoint, "--output", folder + "/e.h5", photo]),
                              "vlsam-encode", photo, folder: folder)
            try assertRefused(try runStage("vlsam-list", ["--model", vlm, "--objects", "dog", "--output", folder + "/o.h5", photo]),
                              "vlsam-list", photo, folder: folder)
        }
    }

    func testMaxPixelsOption() throws {
        let checkpoint = try shared("parity/efficientsam-vitt/weights.pt")
        let folder = scratchDirectory()
        let refused = try runStage("vlsam-encode", ["--checkpoint", checkpoint, "--output", folder + "/e.h5", "--max-pixels", "383",
                                                    Self.rotated])
        try assertRefused(refused, "vlsam-encode", Self.rotated, mentioning: "exceed the limit of 383 pixels", folder: folder)
        let invalid = try runStage("vlsam-encode", ["--checkpoint", checkpoint, "--output", folder + "/e.h5", "--max-pixels", "0",
                                                    Self.rotated])
        XCTAssertNotEqual(invalid.status, 0)
        XCTAssertTrue(invalid.stderr.contains("--max-pixels must be at least 1"), invalid.stderr)
        let allowed = try runStage("vlsam-encode", ["--checkpoint", checkpoint, "--output", folder + "/e.h5", "--max-pixels", "384",
                                                    Self.rotated])
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        XCTAssertEqual(try EmbeddingArtifact.read(from: folder + "/e.h5").originalSize, Self.upright)
    }

    /// vlsam-run takes the limit from its configuration file (`maxPixels`) or, over it, the flag.
    func testBatchPixelLimit() throws {
        let dir = scratchDirectory(), images = dir + "/photos", out = dir + "/out", config = dir + "/run.yaml"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: images + "/rotated.jpg")
        try FileManager.default.copyItem(atPath: Self.rotated, toPath: images + "/rotated.jpg")
        try "maxPixels: 383\n".write(toFile: config, atomically: true, encoding: .utf8)
        let base = ["--images", images, "--out", out, "--config", config]
        XCTAssertTrue(try runStageOutput("vlsam-run", base + ["--print-config"]).contains("maxPixels: 383"))
        XCTAssertTrue(try runStageOutput("vlsam-run", base + ["--print-config", "--max-pixels", "384"]).contains("maxPixels: 384"))

        let vlm = try shared("parity/smolvlm-tiny"), sam = try shared("parity/efficientsam-vitt/weights.pt")
        let result = try runStage("vlsam-run", base + ["--vlm", vlm, "--sam", sam, "--objects", "dog", "--no-split"])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("rotated.jpg: JPEG dimensions 24x16 (384 pixels) exceed the limit of 383 pixels"),
                      result.stderr)

        try "maxPixels: 0\n".write(toFile: config, atomically: true, encoding: .utf8)
        let invalid = try runStage("vlsam-run", base + ["--print-config"])
        XCTAssertEqual(invalid.status, 1)
        XCTAssertTrue(invalid.stderr.contains("\(config): option maxPixels must be at least 1"), invalid.stderr)
    }

    /// One good, EXIF-rotated photo among bad ones: the good one is finished, upright in every
    /// artifact and in the COCO image list; each bad one is named, failed, and leaves nothing.
    func testBatchFinishesTheGoodPhotoAndNamesTheBadOnes() throws {
        let dir = scratchDirectory(), images = dir + "/photos", out = dir + "/out"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        for name in Self.badPhotos + ["exif-orientation-6.jpg"] {
            try? FileManager.default.removeItem(atPath: images + "/" + name)
            try FileManager.default.copyItem(atPath: Self.corpus + "/" + name, toPath: images + "/" + name)
        }
        let vlm = try shared("parity/smolvlm-tiny"), sam = try shared("parity/efficientsam-vitt/weights.pt")
        let result = try runStage("vlsam-run", ["--vlm", vlm, "--sam", sam, "--objects", "dog, window", "--no-split",
                                                "--iterations", "1", "--images", images, "--out", out])
        XCTAssertEqual(result.status, 1, result.stderr)
        for name in Self.badPhotos { XCTAssertTrue(result.stderr.contains(images + "/" + name), "\(name) not named: \(result.stderr)") }

        let log = try String(contentsOfFile: out + "/run.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["stage"] as? String == "photo" }
        let status = Dictionary(log.map { (($0["photo"] as! NSString).lastPathComponent, $0["status"] as! String) },
                                uniquingKeysWith: { $1 })
        XCTAssertEqual(status, Dictionary(uniqueKeysWithValues: Self.badPhotos.map { ($0, "failed") } + [("exif-orientation-6.jpg", "done")]))

        let photo = out + "/photos/exif-orientation-6"
        XCTAssertEqual(try ObjectsArtifact.read(from: photo + "/objects.h5").originalSize, Self.upright)
        XCTAssertEqual(try EmbeddingArtifact.read(from: photo + "/embedding.h5").originalSize, Self.upright)
        XCTAssertEqual(try MasksArtifact.read(from: photo + "/masks.1.h5").originalSize, Self.upright)
        XCTAssertEqual(try DetectionsArtifact.read(from: photo + "/detections.h5").originalSize, Self.upright)
        let list = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/images.json"))) as? [[String: Any]]
        XCTAssertEqual(list?.count, 1)
        XCTAssertEqual(list?.first?["height"] as? Int, 24)
        XCTAssertEqual(list?.first?["width"] as? Int, 16)

        // The bad photos left no artifact and no temporary file anywhere.
        let files = FileManager.default.enumerator(atPath: out)?.compactMap { $0 as? String } ?? []
        XCTAssertEqual(files.filter { $0.contains(".tmp") || $0.contains(".partial") }, [])
        for name in Self.badPhotos {
            let stem = (name as NSString).deletingPathExtension
            XCTAssertEqual(files.filter { $0.hasPrefix("photos/\(stem)/") && $0.hasSuffix(".h5") }, [], name)
        }
    }
}

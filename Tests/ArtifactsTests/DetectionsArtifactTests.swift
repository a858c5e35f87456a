import Artifacts
import Foundation
import Geometry
import TestSupport
import XCTest

final class DetectionsArtifactTests: XCTestCase {
    private let digest = String(repeating: "ab", count: 32)

    /// Three detections on a 7 x 9 photo; the strings are pycocotools' for the bottom-left pixel, the
    /// full mask, and rows 2…4 × columns 6…8 (a string with a backslash).
    func sample() -> DetectionsArtifact {
        DetectionsArtifact(
            provenance: Provenance(producer: "DetectionsArtifactTests", sourceImage: "photo.jpg", sourceImageSHA256: digest,
                                   parameters: #"{"merge_iou":0.5}"#),
            originalSize: ImageSize(height: 7, width: 9),
            detections: [
                .init(name: "truck", score: 0.8125, box: PixelBox(x0: 0, y0: 6, x1: 1, y1: 7), rle: "61h1",
                      question: 0, scale: 0, iteration: 1,
                      points: [PixelPoint(x: 0.5, y: 6.5), PixelPoint(x: 8.25, y: 0.75)], labels: [1, 0]),
                .init(name: "café", score: 0.59375, box: PixelBox(x0: 0, y0: 0, x1: 9, y1: 7), rle: "0o1",
                      question: 2, scale: 4, iteration: 0, points: [PixelPoint(x: 4, y: 3)], labels: [1]),
                .init(name: "", score: -1.5, box: PixelBox(x0: 6, y0: 2, x1: 9, y1: 5), rle: "\\134000N", question: 1, scale: 2,
                      iteration: 3),
            ],
            inputs: ["photo.masks.1.h5": digest, "photo.masks.h5": String(repeating: "0f", count: 32)])
    }

    func testRoundTripAndHeader() throws {
        let path = scratchDirectory() + "/photo.detections.h5"
        let artifact = sample()
        try artifact.write(to: path)
        let read = try DetectionsArtifact.read(from: path)
        XCTAssertEqual(read, artifact)
        XCTAssertEqual(read.detections[2].rle, "\\134000N", "strings stored as given")
        let file = try HDF5File(readingAt: path)
        XCTAssertEqual(try file.attributeString("schema"), "vlsam.detections")
        XCTAssertEqual(try file.attributeInt("schema_version"), 1)
        XCTAssertEqual(try file.attributeInts("original_size"), [7, 9])
        XCTAssertEqual(try file.readInt32("point_offsets").values, [0, 2, 3, 3])
        XCTAssertEqual(try file.shape("points"), [3, 2])
        XCTAssertEqual(try file.readStrings("input_files"), ["photo.masks.1.h5", "photo.masks.h5"], "sorted")
        XCTAssertEqual(try file.attributeString("description", at: "mask_rle")?.contains("COCO compressed RLE"), true)
        if let dump = try runTool("h5dump", ["-H", path]) {
            XCTAssertEqual(dump.status, 0)
            for name in ["names", "scores", "boxes", "mask_rle", "question", "scale", "iteration", "point_offsets",
                         "points", "point_labels", "input_files", "input_sha256", "schema", "original_size"] {
                XCTAssertTrue(dump.output.contains("\"\(name)\""), name)
            }
        }
    }

    func testNoDetectionsRoundTrip() throws {
        let path = scratchDirectory() + "/empty.detections.h5"
        let empty = DetectionsArtifact(provenance: Provenance(producer: "t"), originalSize: ImageSize(height: 4, width: 5), detections: [])
        try empty.write(to: path)
        XCTAssertEqual(try DetectionsArtifact.read(from: path), empty)
    }

    func testNaNScoreIsRefusedOnWritingAndReading() throws {
        let directory = scratchDirectory()
        var bad = sample()
        bad.detections[1].score = .nan
        let path = directory + "/nan.h5"
        assertArtifactError(.invalidValue, file: path, containing: [#"detection 1 ("café"): score nan is not finite"#]) {
            try bad.write(to: path)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing written")

        // A NaN written by another tool is refused on reading.
        let patched = directory + "/patched.h5"
        try writeLayout(to: patched) { file, name in
            guard name == "scores" else { return false }
            try file.write([0.5, Float.nan, 0.25], shape: [3], to: "scores")
            return true
        }
        assertArtifactError(.invalidValue, file: patched, containing: [#"detection 1 ("café"): score nan is not finite"#]) {
            try DetectionsArtifact.read(from: patched)
        }
    }

    func testWrongShapesAreRefused() throws {
        let directory = scratchDirectory()
        let scores = directory + "/scores.h5"
        try writeLayout(to: scores) { file, name in
            guard name == "scores" else { return false }
            try file.write([0.5, 0.5], shape: [2], to: "scores")
            return true
        }
        assertArtifactError(.wrongShape, file: scores, containing: [#"dataset "scores" has shape [2], expected [D=3]"#]) {
            try DetectionsArtifact.read(from: scores)
        }
        let boxes = directory + "/boxes.h5"
        try writeLayout(to: boxes) { file, name in
            guard name == "boxes" else { return false }
            try file.write([Float](repeating: 0, count: 9), shape: [3, 3], to: "boxes")
            return true
        }
        assertArtifactError(.wrongShape, file: boxes, containing: [#"dataset "boxes" has shape [3, 3], expected [D, 4]"#]) {
            try DetectionsArtifact.read(from: boxes)
        }
        let offsets = directory + "/offsets.h5"
        try writeLayout(to: offsets) { file, name in
            guard name == "point_offsets" else { return false }
            try file.write([0, 2, 3] as [Int32], shape: [3], to: "point_offsets")
            return true
        }
        assertArtifactError(.wrongShape, file: offsets, containing: [#"dataset "point_offsets" has shape [3], expected [D+1=4]"#]) {
            try DetectionsArtifact.read(from: offsets)
        }
        let missing = directory + "/missing.h5"
        try writeLayout(to: missing) { _, name in name == "mask_rle" }
        assertArtifactError(.missingObject, file: missing, containing: [#""mask_rle""#]) {
            try DetectionsArtifact.read(from: missing)
        }
    }

    func testOffsetsThatDoNotRiseAreRefused() throws {
        let path = scratchDirectory() + "/falling.h5"
        try writeLayout(to: path) { file, name in
            guard name == "point_offsets" else { return false }
            try file.write([0, 3, 2, 3] as [Int32], shape: [4], to: "point_offsets")
            return true
        }
        assertArtifactError(.invalidValue, file: path, containing: ["point_offsets [0, 3, 2, 3] must rise from 0 to the point count 3"]) {
            try DetectionsArtifact.read(from: path)
        }
    }

    func testInvalidContentIsRefusedBeforeWriting() {
        let path = scratchDirectory() + "/bad.h5"
        func refused(_ change: (inout DetectionsArtifact) -> Void, _ fragment: String, line: UInt = #line) {
            var bad = sample()
            change(&bad)
            assertArtifactError(.invalidValue, file: path, containing: [fragment], { try bad.write(to: path) }, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), line: line)
        }
        refused({ $0.detections[0].labels = [1, 2] }, #"detection 0 ("truck"): point 1 has label 2"#)
        refused({ $0.detections[0].labels = [1] }, "has 2 points but 1 labels")
        refused({ $0.detections[0].points[0].y = .infinity }, "point 0 has a non-finite coordinate (0.5, inf)")
        refused({ $0.detections[1].box.x1 = -1 }, "box (0.0, 0.0, -1.0, 7.0) is not finite with x0 <= x1")
        refused({ $0.detections[1].box.y0 = .nan }, "box (0.0, nan, 9.0, 7.0)")
        refused({ $0.detections[2].rle = "" }, "detection 2: mask_rle is empty")
        refused({ $0.detections[2].rle = "61 h1" }, "mask_rle has a character outside '0'…'o' at offset 2")
        refused({ $0.detections[2].rle = "61h" }, "mask_rle ends inside a number")
        refused({ $0.detections[2].scale = 5 }, "scale 5 is not 0 (whole photo) or 1…4")
        refused({ $0.detections[2].iteration = -1 }, "iteration -1 is outside")
        refused({ $0.detections[2].question = Int(Int32.max) + 1 }, "question 2147483648 is outside")
        refused({ $0.originalSize = ImageSize(height: 0, width: 9) }, "original size 0x9 is empty")
        refused({ $0.inputs["x.h5"] = "abc" }, #"input "x.h5" has SHA-256 "abc", expected 64 hex digits"#)
    }

    func testOtherSchemasAreRefused() throws {
        let path = scratchDirectory() + "/prompts.h5"
        try PromptsArtifact(provenance: Provenance(producer: "t"), originalSize: ImageSize(height: 2, width: 2), sets: []).write(to: path)
        assertArtifactError(.wrongSchema, file: path, containing: [#"not a vlsam.detections artifact (schema attribute is "vlsam.prompts")"#]) {
            try DetectionsArtifact.read(from: path)
        }
    }

    /// The documented layout of `sample()`, written with the low-level API (not DetectionsArtifact.write);
    /// `replace` writes its own version of a dataset (or none) and returns true, or false to keep the default.
    private func writeLayout(to path: String, replace: (HDF5File, String) throws -> Bool) throws {
        let artifact = sample(), detections = artifact.detections
        let file = try HDF5File(creatingAt: path)
        try artifact.provenance.write(to: file, schema: .detections)
        try file.setAttribute("original_size", [artifact.originalSize.height, artifact.originalSize.width])
        let points = detections.flatMap(\.points)
        var offsets: [Int32] = [0]
        for detection in detections { offsets.append(offsets.last! + Int32(detection.points.count)) }
        let count = detections.count
        let writers: [(String, () throws -> Void)] = [
            ("names", { try file.write(detections.map(\.name), to: "names") }),
            ("scores", { try file.write(detections.map(\.score), shape: [count], to: "scores") }),
            ("boxes", { try file.write(detections.flatMap { [$0.box.x0, $0.box.y0, $0.box.x1, $0.box.y1] }, shape: [count, 4], to: "boxes") }),
            ("mask_rle", { try file.write(detections.map(\.rle), to: "mask_rle") }),
            ("question", { try file.write(detections.map { Int32($0.question) }, shape: [count], to: "question") }),
            ("scale", { try file.write(detections.map { Int32($0.scale) }, shape: [count], to: "scale") }),
            ("iteration", { try file.write(detections.map { Int32($0.iteration) }, shape: [count], to: "iteration") }),
            ("point_offsets", { try file.write(offsets, shape: [count + 1], to: "point_offsets") }),
            ("points", { try file.write(points.flatMap { [$0.x, $0.y] }, shape: [points.count, 2], to: "points") }),
            ("point_labels", { try file.write(detections.flatMap(\.labels), shape: [points.count], to: "point_labels") }),
            ("input_files", { try file.write(artifact.inputs.keys.sorted(), to: "input_files") }),
            ("input_sha256", { try file.write(artifact.inputs.keys.sorted().map { artifact.inputs[$0]! }, to: "input_sha256") }),
        ]
        for (name, write) in writers where try !replace(file, name) { try write() }
        try file.commit()
    }
}

import Checkpoints
import Foundation
import TestSupport
import XCTest

/// vlsam-eval as a user runs it: the summary, the metrics file, and one-line errors naming the
/// file for bad input (no metrics file left behind).
final class EvalCLITests: XCTestCase {
    /// Two images; a 10x10 box of category 1 (area 100: small) in image 1, a crowd region of
    /// category 2 in image 2.
    static let groundTruth = """
    {"images": [{"id": 1, "height": 40, "width": 50}, {"id": 2, "height": 40, "width": 50}],
     "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
     "annotations": [
      {"id": 7, "image_id": 1, "category_id": 1, "area": 100, "iscrowd": 0, "bbox": [5, 5, 10, 10],
       "segmentation": [[5, 5, 15, 5, 15, 15, 5, 15]]},
      {"id": 8, "image_id": 2, "category_id": 2, "area": 400, "iscrowd": 1, "bbox": [0, 0, 20, 20],
       "segmentation": {"size": [40, 50], "counts": [0, 20, 20, 20, 1940]}}]}
    """

    /// The cat found exactly (box and mask), once.
    static let exactResult = #"[{"image_id": 1, "category_id": 1, "bbox": [5, 5, 10, 10], "score": 0.9}]"#

    private func files(_ results: String, _ name: String = #function) throws -> (gt: String, results: String, output: String) {
        let dir = scratchDirectory(name)
        let gt = dir + "/instances.json", res = dir + "/results.json"
        try Self.groundTruth.write(toFile: gt, atomically: true, encoding: .utf8)
        try results.write(toFile: res, atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: dir + "/metrics.json")
        return (gt, res, dir + "/metrics.json")
    }

    func testBoxEvaluationSummaryAndMetricsFile() throws {
        let (gt, results, output) = try files(Self.exactResult)
        let summary = try runStageOutput("vlsam-eval", ["--gt", gt, "--results", results, "--iou-type", "bbox", "--output", output])
        XCTAssertTrue(summary.contains(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000"), summary)
        XCTAssertTrue(summary.contains(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000"), summary)
        let metrics = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        XCTAssertEqual(metrics["schema"] as? String, "vlsam.coco-metrics")
        XCTAssertEqual(metrics["iou_type"] as? String, "bbox")
        // One exact detection of the only counted object (small): everything 1, medium and large -1.
        // (Precision is tp / (tp + fp + ε), as in pycocotools, so "1" is 1 - 2.2e-16.)
        let stats = try XCTUnwrap(metrics["stats"] as? [String: Double])
        let expected: [String: Double] = ["AP": 1, "AP50": 1, "AP75": 1, "APs": 1, "APm": -1, "APl": -1,
                                          "AR1": 1, "AR10": 1, "AR100": 1, "ARs": 1, "ARm": -1, "ARl": -1]
        XCTAssertEqual(stats.keys.sorted(), expected.keys.sorted())
        for (name, value) in expected { XCTAssertEqual(try XCTUnwrap(stats[name]), value, accuracy: 1e-12, name) }
        let categories = try XCTUnwrap(metrics["per_category"] as? [[String: Any]])
        XCTAssertEqual(categories.map { $0["name"] as? String }, ["cat", "dog"])
        XCTAssertEqual((categories[1]["figures"] as? [String: Double])?["AP"], -1, "the dog is only a crowd region")
        XCTAssertEqual(categories[1]["crowd"] as? Int, 1)
        let input = try XCTUnwrap(metrics["ground_truth"] as? [String: String])
        XCTAssertEqual(input["path"], gt)
        XCTAssertEqual(input["sha256"], try sha256Hex(ofFile: gt))
        XCTAssertEqual((metrics["counts"] as? [String: Int])?["detections"], 1)
    }

    func testMasksFromPolygonsAndCrowdRLE() throws {
        // The mask pycocotools makes of the cat's polygon (the 10x10 box) as the result, and
        // a detection inside the crowd region, which is ignored rather than a false positive.
        let results = #"[{"image_id": 1, "category_id": 1, "segmentation": {"size": [40, 50], "counts": "]6:n000000000000000000c[1"}, "score": 0.8},"# +
            #" {"image_id": 2, "category_id": 2, "segmentation": {"size": [40, 50], "counts": [0, 10, 30, 10, 1950]}, "score": 0.5}]"#
        let (gt, resultsPath, output) = try files(results)
        _ = try runStageOutput("vlsam-eval", ["--gt", gt, "--results", resultsPath, "--output", output])
        let metrics = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap((metrics["stats"] as? [String: Double])?["AP"]), 1, accuracy: 1e-12)
    }

    func testBadInputIsOneLineNamingTheFile() throws {
        let cases: [(results: String, expected: String)] = [
            (#"[{"image_id": 1, "category_id": 1, "bbox": [5, 5, 10, 10], "score": 0.9}"#, "malformed JSON"),
            (#"[{"image_id": 3, "category_id": 1, "bbox": [5, 5, 10, 10], "score": 0.9}]"#, "image_id 3 is not an image"),
            (#"[{"image_id": 1, "category_id": 5, "bbox": [5, 5, 10, 10], "score": 0.9}]"#, "category_id 5 is not a category"),
            (#"[{"image_id": 1, "category_id": "truck", "bbox": [5, 5, 10, 10], "score": 0.9}]"#, "\"truck\" is not a category"),
            (#"[{"image_id": 1, "category_id": 1, "bbox": [5, 5, 10, 10], "score": 0.9}]"#, "no segmentation"),
            (#"[{"image_id": 1, "category_id": 1, "bbox": [5, 5, 10, 10]}]"#, "no score"),
            (#"[{"image_id": 1, "category_id": 1, "segmentation": {"size": [40, 50], "counts": "zz"}, "score": 1}]"#, "segmentation"),
        ]
        for (index, testCase) in cases.enumerated() {
            let (gt, results, output) = try files(testCase.results, "bad\(index)")
            let run = try runStage("vlsam-eval", ["--gt", gt, "--results", results, "--output", output])
            XCTAssertNotEqual(run.status, 0, testCase.expected)
            let lines = run.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, run.stderr)
            XCTAssertTrue(run.stderr.hasPrefix("vlsam-eval: \(results): "), run.stderr)
            XCTAssertTrue(run.stderr.contains(testCase.expected), "\(run.stderr) lacks \(testCase.expected)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "no metrics after an error")
        }
        let (gt, results, _) = try files(Self.exactResult, "missing")
        let missing = try runStage("vlsam-eval", ["--gt", gt + ".absent", "--results", results])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.hasPrefix("vlsam-eval: \(gt).absent: "), missing.stderr)
    }
}

import BatchDriver
import COCOEvaluation
import COCOFormat
import Foundation
import TestSupport
import XCTest

/// `vlsam-run --eval`'s choice of what to score: the batch's photos that the instances file holds
/// (a failed photo's objects count as missed), none of another photo's detections, nothing named
/// outside the categories. The figures themselves are COCOEvaluation's, proven against pycocotools.
final class BatchEvaluationTests: XCTestCase {
    let relative = "data/coco-dev/instances.json"

    /// Two coco-dev photos without crowd regions, with their annotations and file names.
    func photos() throws -> (path: String, truth: GroundTruth, names: [String: Int], first: GroundTruth.Image, second: GroundTruth.Image) {
        guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
        let truth = try GroundTruth.load(path: path)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        var names: [String: Int] = [:]
        for image in json["images"] as? [[String: Any]] ?? [] { names[image["file_name"] as! String] = image["id"] as? Int }
        let crowded = Set(truth.annotations.filter(\.isCrowd).map(\.imageID))
        let usable = truth.images.filter { image in !crowded.contains(image.id) && truth.annotations.contains { $0.imageID == image.id } }
        return (path, truth, names, usable[0], usable[1])
    }

    /// Every annotation of `image` as a detection with its own mask: a perfect answer.
    func perfectDetections(_ image: GroundTruth.Image, _ truth: GroundTruth) throws -> [COCODetection] {
        try truth.annotations.filter { $0.imageID == image.id }.map { annotation in
            let mask = try XCTUnwrap(annotation.segmentation).mask(imageHeight: image.height, imageWidth: image.width)
            return COCODetection(imageID: image.id, category: .id(annotation.categoryID), mask: mask, score: 0.9)
        }
    }

    func testScoresTheBatchPhotosTheFileHoldsAndNothingElse() throws {
        let (path, truth, names, first, second) = try photos()
        let name = { (image: GroundTruth.Image) in names.first { $0.value == image.id }!.key }
        let perfect = try perfectDetections(first, truth)
        // A photo the file does not hold: its id is above all of the file's, as BatchOutputs numbers it.
        let outsider = COCODetection(imageID: names.values.max()! + 1, category: perfect[0].category,
                                     mask: RunLengthMask(mask: [1], height: 1, width: 1), score: 1.0 as Double)
        let unnamed = COCODetection(imageID: first.id, category: .name("not a category"), mask: RunLengthMask(mask: [1], height: 1, width: 1), score: 1.0 as Double)
        let results = perfect + [outsider, unnamed]

        let alone = try BatchEvaluation(groundTruthPath: path, photoNames: [name(first), "elsewhere.jpg"], imageIDs: names,
                                        results: results, resultsPath: "detections.json")
        XCTAssertEqual(alone.metrics.counts.images, 1)
        XCTAssertEqual(alone.metrics.counts.detections, perfect.count, "the outsider's and the unnamed detection are not scored")
        XCTAssertEqual(alone.photosNotInGroundTruth, ["elsewhere.jpg"])
        XCTAssertEqual(alone.uncategorised, 1)
        XCTAssertEqual(alone.metrics.stats["AP"], 1, "every object found with its own mask")
        XCTAssertEqual(alone.metrics.stats["AR100"], 1)
        XCTAssertTrue(alone.summary.contains("not evaluated (not in the ground truth): elsewhere.jpg"), alone.summary)

        // The second photo failed (no detections): its objects are missed, so recall drops.
        let both = try BatchEvaluation(groundTruthPath: path, photoNames: [name(first), name(second)], imageIDs: names,
                                       results: results, resultsPath: "detections.json")
        XCTAssertEqual(both.metrics.counts.images, 2)
        let objects = truth.annotations.filter { [first.id, second.id].contains($0.imageID) }.count
        XCTAssertEqual(both.metrics.counts.groundTruth, objects)
        XCTAssertLessThan(try XCTUnwrap(both.metrics.stats["AR100"]), 1)
        XCTAssertTrue(both.report.contains(both.metrics.categoryTableLines[0]), "the report carries the per-category table")

        XCTAssertThrowsError(try BatchEvaluation(groundTruthPath: path, photoNames: ["elsewhere.jpg"], imageIDs: names,
                                                 results: results, resultsPath: "detections.json")) { error in
            XCTAssertTrue(String(describing: error).contains("holds none of the batch's photos"), "\(error)")
        }
    }
}

import COCOEvaluation
import Foundation
import TensorMath
import TestSupport
import XCTest

/// vlsam's evaluation against pycocotools' COCOeval on the prediction sets of
/// scripts/make_coco_eval_fixtures.py over ../shared/data/coco-dev: perturbed, dropped,
/// duplicated and false detections, crowd regions, every area range, score ties, more than 100
/// detections per image, the ground truth itself, sparse categories, boxes only.
final class COCOEvalParityTests: XCTestCase {
    static let annotations = "data/coco-dev/instances.json"

    func testThresholdsAreNumpysLinspace() throws {
        let expected = try XCTUnwrap(Fixtures.json("expected.json") as? [String: Any])
        XCTAssertEqual(EvaluationParameters.iouThresholds, try Fixtures.doubles(expected["iou_thresholds"]))
        XCTAssertEqual(EvaluationParameters.recallThresholds, try Fixtures.doubles(expected["recall_thresholds"]))
    }

    func testEveryFigureMatchesPycocotools() throws {
        guard let annotations = sharedPath(Self.annotations) else { throw XCTSkip(missingShared(Self.annotations)) }
        let expected = try XCTUnwrap(Fixtures.json("expected.json") as? [String: Any])
        let names = try XCTUnwrap(expected["stat_names"] as? [String])
        XCTAssertEqual(names, Metrics.Figures.names)
        let sets = try XCTUnwrap(expected["sets"] as? [String: [String: [String: Any]]])
        XCTAssertEqual(sets.count, 5)
        let groundTruth = try GroundTruth.load(path: annotations)
        var compared = 0, figures = 0, inexact = [String]()
        func compare(_ mine: [Double], _ reference: [Double], _ what: String) {
            assertClose(mine, reference, .absolute(1e-6), what)
            figures += reference.count
            if mine != reference { inexact.append(what) }
        }
        for (set, byType) in sets.sorted(by: { $0.key < $1.key }) {
            for (type, reference) in byType.sorted(by: { $0.key < $1.key }) {
                let iouType = try XCTUnwrap(IoUType(rawValue: type))
                let what = "\(set) \(type)"
                let results = try DetectionResults.load(path: Fixtures.path("sets/\(set).json"), groundTruth: groundTruth, iouType: iouType)
                XCTAssertEqual(results.detections.count, reference["detections"] as? Int, what)
                let metrics = try COCOEvaluator.evaluate(groundTruth: groundTruth, results: results, iouType: iouType)
                let stats = try XCTUnwrap(reference["stats"] as? [String: String])
                compare(metrics.stats.values, try names.map { try XCTUnwrap(Double(try XCTUnwrap(stats[$0]))) }, "\(what) stats")
                let perCategory = try XCTUnwrap(reference["per_category"] as? [String: Any])
                XCTAssertEqual(metrics.perCategory.map { String($0.id) }.sorted(), perCategory.keys.sorted(), what)
                for category in metrics.perCategory {
                    compare(category.figures.values, try Fixtures.doubles(perCategory[String(category.id)]), "\(what) category \(category.id)")
                }
                compared += 1
            }
        }
        // Same arithmetic in the same order (numpy's cumsum, searchsorted, pairwise mean): the
        // figures are not merely close but pycocotools' own doubles.
        XCTAssertEqual(inexact, [], "within 1e-6 but not bit-identical to pycocotools")
        XCTAssertEqual(figures, 9 * 12 * 81)
        XCTAssertEqual(compared, 9)
    }

    /// Images and categories run in parallel; the numbers must be those of one thread.
    func testResultDoesNotDependOnThreads() throws {
        guard let annotations = sharedPath(Self.annotations) else { throw XCTSkip(missingShared(Self.annotations)) }
        let groundTruth = try GroundTruth.load(path: annotations)
        let results = try DetectionResults.load(path: Fixtures.path("sets/perturbed.json"), groundTruth: groundTruth, iouType: .segm)
        let parallel = try COCOEvaluator.evaluate(groundTruth: groundTruth, results: results, iouType: .segm)
        let threads = computeThreads()
        setComputeThreads(1)
        defer { setComputeThreads(threads) }
        XCTAssertEqual(try COCOEvaluator.evaluate(groundTruth: groundTruth, results: results, iouType: .segm), parallel)
    }
}

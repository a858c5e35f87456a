import COCOEvaluation
import COCOFormat
import Foundation
import Pipeline

/// `--eval`: the batch's detections scored as vlsam-eval (pycocotools' COCOeval, segm) scores
/// them, against the ground truth of the instances file that named the categories, over the
/// batch's photos that file holds (matched by file name). A photo that failed counts as having
/// found nothing; a photo the file does not hold is left out and named.
public struct BatchEvaluation: Sendable {
    public let metrics: Metrics
    public let photosNotInGroundTruth: [String]
    /// Detections left out because their name is not one of the file's categories.
    public let uncategorised: Int

    public init(groundTruthPath: String, photoNames: [String], imageIDs: [String: Int], results: [COCODetection], resultsPath: String) throws {
        let file = try GroundTruth.load(path: groundTruthPath)
        var evaluated = Set<Int>(), missing: [String] = []
        for name in photoNames {
            if let id = imageIDs[name] { evaluated.insert(id) } else { missing.append(name) }
        }
        guard !evaluated.isEmpty else {
            throw StageError(groundTruthPath, "holds none of the batch's photos (matched by file name): --eval has nothing to score")
        }
        let groundTruth = try GroundTruth(images: file.images.filter { evaluated.contains($0.id) }, categories: file.categories,
                                          annotations: file.annotations.filter { evaluated.contains($0.imageID) },
                                          source: groundTruthPath, sha256: file.sha256)
        // Photos outside the file have ids above all of its ones (BatchOutputs), so no result of theirs is scored.
        let categorised = results.filter { if case .id = $0.category { return true } else { return false } }
        let scored = categorised.filter { evaluated.contains($0.imageID) }
        metrics = try COCOEvaluator.evaluate(groundTruth: groundTruth,
                                             results: DetectionResults(scored, groundTruth: groundTruth, iouType: .segm, source: resultsPath),
                                             iouType: .segm)
        photosNotInGroundTruth = missing
        uncategorised = results.count - categorised.count
    }

    /// The header, the twelve summary lines and what was left out (terminal and report).
    public var summary: String {
        var lines = ["COCO evaluation (segm) of \(metrics.counts.images) photos against \(metrics.groundTruth.path):"] + metrics.summaryLines
        if !photosNotInGroundTruth.isEmpty {
            lines.append("not evaluated (not in the ground truth): " + photosNotInGroundTruth.joined(separator: ", "))
        }
        if uncategorised > 0 { lines.append("\(uncategorised) detections named outside the categories were left out") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The summary and the per-category table (report; metrics.json has both).
    public var report: String { summary + "\n" + metrics.categoryTableLines.joined(separator: "\n") + "\n" }
}

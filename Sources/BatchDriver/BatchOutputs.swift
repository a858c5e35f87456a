import Checkpoints
import Artifacts
import COCOFormat
import Foundation
import Imaging
import Pipeline

extension BatchRun {
    /// `detections.json` (COCO results, from every finished photo's detections artifact),
    /// `images.json` (the COCO image list it refers to), with `--eval` `metrics.json`, and
    /// `report.html` last. `reports` are the photos', in their order. Returns the evaluation's summary.
    @discardableResult
    func writeBatchOutputs(_ reports: [PhotoPipeline.PhotoReport], seconds: Double) throws -> String? {
        let layout = pipeline.layout
        var results: [COCODetection] = [], images: [COCOImage] = [], pages: [ReportPage.Photo] = []
        let firstFreeID = (imageIDs.values.max() ?? 0) + 1
        for (index, (photo, report)) in zip(photos, reports).enumerated() {
            let name = photo.name
            // A photo the instances file does not hold gets an id above all of the file's.
            let imageID = imageIDs[name] ?? firstFreeID + index
            guard report.error == nil else {
                pages.append(.failed(name, error: report.error!))
                continue
            }
            let artifact = try DetectionsArtifact.read(from: layout.detections(report.folder))
            let size = artifact.originalSize
            images.append(COCOImage(id: imageID, fileName: name, height: size.height, width: size.width))
            for detection in artifact.detections {
                let mask = try RunLengthMask(compressed: detection.rle, height: size.height, width: size.width)
                results.append(COCODetection(imageID: imageID, category: categories?.categoryID(for: detection.name) ?? .name(detection.name),
                                             mask: mask, score: detection.score))
            }
            let panels = layout.panels(report.folder)
            pages.append(try ReportPage.photo(
                name: name, pageFolder: layout.root, overlay: layout.overlay(report.folder), thumbnail: layout.thumbnail(report.folder),
                detections: artifact.detections.enumerated().map { i, d in
                    ReportPage.DetectionRow(name: d.name, score: d.score, box: d.box, iteration: d.iteration,
                                            panelPath: (panels as NSString).appendingPathComponent(PhotoPipeline.panelName(i, d.name)))
                }))
        }
        try Data(COCOResults.json(results).utf8).withUnsafeBytes { try writeFileAtomically($0, toPath: layout.detectionsJSON) }
        try Data(COCOResults.imagesJSON(images).utf8).withUnsafeBytes { try writeFileAtomically($0, toPath: layout.imagesJSON) }
        // No metrics.json from an earlier run may outlive this one's detections; a failed
        // evaluation still leaves the report, saying why, before the run fails.
        try? FileManager.default.removeItem(atPath: layout.metricsJSON)
        var evaluation: Result<BatchEvaluation, Error>?
        if let evaluationGroundTruth {
            evaluation = Result {
                let scored = try BatchEvaluation(groundTruthPath: evaluationGroundTruth, photoNames: photos.map(\.name), imageIDs: imageIDs,
                                                 results: results, resultsPath: layout.detectionsJSON)
                try scored.metrics.json().withUnsafeBytes { try writeFileAtomically($0, toPath: layout.metricsJSON) }
                return scored
            }
        }
        let evaluationText: String? = switch evaluation {
        case .success(let scored): scored.report
        case .failure(let error): "COCO evaluation failed: \(oneLine(error))\n"
        case nil: nil
        }
        try ReportPage.write(photos: pages, elapsedSeconds: seconds, evaluation: evaluationText, to: layout.report)
        return try evaluation?.get().summary
    }
}

/// `--dry-run`'s listing: per photo the steps that would run and why.
public func planText(_ reports: [PhotoPipeline.PhotoReport]) -> String {
    var text = ""
    for report in reports {
        let runs = report.steps.filter { $0.status == .wouldRun }
        let reused = report.steps.count - runs.count
        text += "\(report.photo): " + (report.error.map { "cannot tell: \($0)" } ??
            (runs.isEmpty ? "up to date (\(reused) steps reused)" : "\(runs.count) steps would run, \(reused) reused")) + "\n"
        for step in runs {
            text += "  run \(step.stage.padding(toLength: 14, withPad: " ", startingAt: 0)) " +
                "\((step.output as NSString).lastPathComponent.padding(toLength: 18, withPad: " ", startingAt: 0)) \(step.reason)\n"
        }
    }
    return text
}

/// The end-of-run summary: photos done, reused and failed, detections, time per stage.
public func summaryText(_ summary: BatchRun.Summary, seconds: Double) -> String {
    var text = String(format: "%d photos in %.1f s: %d done (%d entirely reused), %d failed; %d detections\n",
                      summary.photos, seconds, summary.done, summary.reused, summary.failed, summary.detections)
    for (stage, time) in summary.stageSeconds.sorted(by: { $0.value > $1.value }) where time > 0 {
        text += "  " + stage.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: "%8.1f s\n", time)
    }
    for report in summary.reports {
        guard let error = report.error else { continue }
        // Most errors already start with the photo's path.
        text += "  FAILED " + (error.hasPrefix(report.photo + ":") ? error : "\(report.photo): \(error)") + "\n"
    }
    for report in summary.reports where report.note != nil {
        text += "  NOTE \(report.photo): \(report.note!)\n"
    }
    if let evaluation = summary.evaluation { text += "\n" + evaluation }
    return text
}

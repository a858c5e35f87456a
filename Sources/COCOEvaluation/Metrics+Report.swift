import Foundation

/// The metrics as text for a terminal.
extension Metrics {
    /// COCOeval.summarize()'s twelve lines, character for character.
    public var summaryLines: [String] {
        zip(Summary.figures, stats.values).map { figure, value in
            let title = figure.precision ? "Average Precision" : "Average Recall"
            let kind = figure.precision ? "(AP)" : "(AR)"
            let thresholds = EvaluationParameters.iouThresholds
            let iou = figure.iou.map { fixed($0, 2) } ?? "\(fixed(thresholds.first!, 2)):\(fixed(thresholds.last!, 2))"
            return " \(padRight(title, 18)) \(kind) @[ IoU=\(padRight(iou, 9)) | area=\(padLeft(figure.area, 6)) | " +
                "maxDets=\(padLeft(String(figure.maxDetections), 3)) ] = \(fixed(value, 3))"
        }
    }

    /// One row per category: id, name, ground truth, detections, AP, AP50, AP75, AR100 (‒ for -1).
    public var categoryTableLines: [String] {
        let nameWidth = max(8, perCategory.map(\.name.count).max() ?? 0)
        let header = "\(padLeft("id", 4))  \(padRight("category", nameWidth))  \(padLeft("gt", 6))  \(padLeft("dets", 7))" +
            "  \(padLeft("AP", 6))  \(padLeft("AP50", 6))  \(padLeft("AP75", 6))  \(padLeft("AR100", 6))"
        return [header] + perCategory.map { category in
            let shown = ["AP", "AP50", "AP75", "AR100"].map { name -> String in
                let value = category.figures[name]!
                return padLeft(value < 0 ? "-" : fixed(value, 3), 6)
            }
            return "\(padLeft(String(category.id), 4))  \(padRight(category.name, nameWidth))  \(padLeft(String(category.groundTruth), 6))" +
                "  \(padLeft(String(category.detections), 7))  " + shown.joined(separator: "  ")
        }
    }
}

/// Python's "{:0.Nf}": round half to even on the binary value, as printf does.
private func fixed(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}

private func padRight(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
private func padLeft(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }

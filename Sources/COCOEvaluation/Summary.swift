/// COCOeval's `summarize`: the twelve figures, each the mean of the accumulated values above -1
/// in its slice (-1 when there are none), averaged in numpy's order and arithmetic.
enum Summary {
    /// What one figure averages.
    struct Figure {
        let name: String
        let precision: Bool
        /// nil: every IoU threshold.
        let iou: Double?
        let area: String
        let maxDetections: Int
    }

    /// The twelve, in COCOeval's order.
    static let figures: [Figure] = [
        Figure(name: "AP", precision: true, iou: nil, area: "all", maxDetections: 100),
        Figure(name: "AP50", precision: true, iou: 0.5, area: "all", maxDetections: 100),
        Figure(name: "AP75", precision: true, iou: 0.75, area: "all", maxDetections: 100),
        Figure(name: "APs", precision: true, iou: nil, area: "small", maxDetections: 100),
        Figure(name: "APm", precision: true, iou: nil, area: "medium", maxDetections: 100),
        Figure(name: "APl", precision: true, iou: nil, area: "large", maxDetections: 100),
        Figure(name: "AR1", precision: false, iou: nil, area: "all", maxDetections: 1),
        Figure(name: "AR10", precision: false, iou: nil, area: "all", maxDetections: 10),
        Figure(name: "AR100", precision: false, iou: nil, area: "all", maxDetections: 100),
        Figure(name: "ARs", precision: false, iou: nil, area: "small", maxDetections: 100),
        Figure(name: "ARm", precision: false, iou: nil, area: "medium", maxDetections: 100),
        Figure(name: "ARl", precision: false, iou: nil, area: "large", maxDetections: 100),
    ]

    /// The twelve figures over all categories, or over category index `category` alone.
    static func values(_ accumulation: Accumulation, category: Int? = nil) -> [Double] {
        figures.map { value(of: $0, accumulation, category: category) }
    }

    static func value(of figure: Figure, _ accumulation: Accumulation, category: Int?) -> Double {
        let thresholds = EvaluationParameters.iouThresholds
        // np.where(iouThr == p.iouThrs): exact equality with the linspace values.
        let thresholdIndices = figure.iou.map { iou in thresholds.indices.filter { thresholds[$0] == iou } } ?? Array(thresholds.indices)
        let areas = EvaluationParameters.areaRanges.indices.filter { EvaluationParameters.areaRanges[$0].label == figure.area }
        let limits = EvaluationParameters.maxDetections.indices.filter { EvaluationParameters.maxDetections[$0] == figure.maxDetections }
        let categories = category.map { [$0] } ?? Array(0..<accumulation.categoryCount)
        // The slice in C order, as s[s > -1] flattens it.
        var kept = [Double]()
        for t in thresholdIndices {
            for r in figure.precision ? Array(0..<Accumulation.recallCount) : [0] {
                for k in categories {
                    for a in areas {
                        for m in limits {
                            let value = figure.precision
                                ? accumulation.precision[accumulation.precisionIndex(threshold: t, recall: r, category: k, area: a, limit: m)]
                                : accumulation.recall[accumulation.recallIndex(threshold: t, category: k, area: a, limit: m)]
                            if value > -1 { kept.append(value) }
                        }
                    }
                }
            }
        }
        return kept.isEmpty ? -1 : pairwiseSum(kept[...]) / Double(kept.count)
    }

    /// numpy's pairwise summation (`pairwise_sum` in its loops): below 8 values a plain sum; up to
    /// 128, eight interleaved partial sums combined as a tree, then the rest; beyond, the halves
    /// (the first a multiple of 8) summed recursively.
    static func pairwiseSum(_ values: ArraySlice<Double>) -> Double {
        let n = values.count, start = values.startIndex
        if n < 8 {
            return values.reduce(0, +)
        }
        if n <= 128 {
            var partial = Array(values[start ..< start + 8])
            var index = 8
            while index < n - n % 8 {
                for lane in 0..<8 { partial[lane] += values[start + index + lane] }
                index += 8
            }
            var sum = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]))
            while index < n {
                sum += values[start + index]
                index += 1
            }
            return sum
        }
        var half = n / 2
        half -= half % 8
        return pairwiseSum(values[start ..< start + half]) + pairwiseSum(values[(start + half)...])
    }
}

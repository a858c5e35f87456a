import TensorMath

/// COCOeval's `accumulate`: precision at the 101 recall thresholds and the final recall, for
/// every IoU threshold, category, area range and detection limit; -1 where a category has no
/// image with ground truth or detections, or no ground truth that counts.
struct Accumulation: Sendable {
    /// Indexed [threshold][recall threshold][category][area range][max detections], as pycocotools' array.
    var precision: [Double]
    /// Indexed [threshold][category][area range][max detections].
    var recall: [Double]
    let categoryCount: Int

    static let thresholdCount = EvaluationParameters.iouThresholds.count
    static let recallCount = EvaluationParameters.recallThresholds.count
    static let areaCount = EvaluationParameters.areaRanges.count
    static let limitCount = EvaluationParameters.maxDetections.count

    func precisionIndex(threshold t: Int, recall r: Int, category k: Int, area a: Int, limit m: Int) -> Int {
        (((t * Self.recallCount + r) * categoryCount + k) * Self.areaCount + a) * Self.limitCount + m
    }

    func recallIndex(threshold t: Int, category k: Int, area a: Int, limit m: Int) -> Int {
        ((t * categoryCount + k) * Self.areaCount + a) * Self.limitCount + m
    }

    /// `cellsByCategory[k]`: category k's cells in image order. Categories run in parallel.
    init(cellsByCategory: [[CellEvaluation]]) {
        categoryCount = cellsByCategory.count
        precision = [Double](repeating: -1, count: Self.thresholdCount * Self.recallCount * categoryCount * Self.areaCount * Self.limitCount)
        recall = [Double](repeating: -1, count: Self.thresholdCount * categoryCount * Self.areaCount * Self.limitCount)
        let perCategory = [CategoryCurves?](unsafeUninitializedCapacity: categoryCount) { buffer, initialised in
            parallelFor(categoryCount) { _, category in
                (buffer.baseAddress! + category).initialize(to: CategoryCurves(cellsByCategory[category]))
            }
            initialised = categoryCount
        }
        for (k, curves) in perCategory.enumerated() {
            guard let curves else { continue }
            for t in 0..<Self.thresholdCount {
                for a in 0..<Self.areaCount {
                    for m in 0..<Self.limitCount {
                        let slot = (t * Self.areaCount + a) * Self.limitCount + m
                        recall[recallIndex(threshold: t, category: k, area: a, limit: m)] = curves.recall[slot]
                        for r in 0..<Self.recallCount {
                            precision[precisionIndex(threshold: t, recall: r, category: k, area: a, limit: m)] =
                                curves.precision[slot * Self.recallCount + r]
                        }
                    }
                }
            }
        }
    }
}

/// One category's part of `accumulate`, indexed [threshold][area][limit] (and [recall threshold]).
private struct CategoryCurves {
    var precision: [Double]
    var recall: [Double]

    /// Nil when no image has ground truth or detections of the category.
    init?(_ cells: [CellEvaluation]) {
        guard !cells.isEmpty else { return nil }
        let thresholds = Accumulation.thresholdCount, areas = Accumulation.areaCount
        let limits = EvaluationParameters.maxDetections, recalls = EvaluationParameters.recallThresholds
        precision = [Double](repeating: -1, count: thresholds * areas * limits.count * recalls.count)
        recall = [Double](repeating: -1, count: thresholds * areas * limits.count)

        // Every kept detection in concatenation order (image, then rank) ...
        var cellOf = [Int32](), rankOf = [Int32](), scores = [Double]()
        for (cellIndex, cell) in cells.enumerated() {
            for (rank, score) in cell.scores.enumerated() {
                cellOf.append(Int32(cellIndex))
                rankOf.append(Int32(rank))
                scores.append(score)
            }
        }
        // ... sorted as numpy's stable mergesort of -score sorts them; the order for a smaller
        // limit is this order without the ranks beyond it.
        var sorted = Array(scores.indices)
        sorted.sort { a, b in scores[a] != scores[b] ? scores[a] > scores[b] : a < b }
        let counted = (0..<areas).map { a in cells.reduce(0) { $0 + $1.countedGroundTruth[a] } }

        var recallAt = [Double](), precisionAt = [Double]()
        for (m, limit) in limits.enumerated() {
            let kept = sorted.filter { rankOf[$0] < limit }
            for a in 0..<areas where counted[a] > 0 {
                let truthCount = Double(counted[a])
                for t in 0..<thresholds {
                    // Cumulative true and false positives down the ranking.
                    recallAt.removeAll(keepingCapacity: true)
                    precisionAt.removeAll(keepingCapacity: true)
                    var truePositives = 0.0, falsePositives = 0.0
                    for item in kept {
                        let cell = cells[Int(cellOf[item])]
                        switch cell.outcomes[(a * thresholds + t) * cell.scores.count + Int(rankOf[item])] {
                        case .truePositive: truePositives += 1
                        case .falsePositive: falsePositives += 1
                        case .ignored: break
                        }
                        recallAt.append(truePositives / truthCount)
                        precisionAt.append(truePositives / (falsePositives + truePositives + Double.ulpOfOne))
                    }
                    let slot = (t * areas + a) * limits.count + m
                    recall[slot] = recallAt.last ?? 0
                    // The precision envelope: each precision becomes the best at any later rank.
                    var index = precisionAt.count - 1
                    while index > 0 {
                        if precisionAt[index] > precisionAt[index - 1] { precisionAt[index - 1] = precisionAt[index] }
                        index -= 1
                    }
                    // np.searchsorted(recall, thresholds, side="left"); past the end the precision stays 0.
                    var position = 0
                    for (r, threshold) in recalls.enumerated() {
                        while position < recallAt.count && recallAt[position] < threshold { position += 1 }
                        precision[slot * recalls.count + r] = position < precisionAt.count ? precisionAt[position] : 0
                    }
                }
            }
        }
    }
}

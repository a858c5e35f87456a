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
///
/// pycocotools builds, down the score ranking, recall tp/n and precision tp/(tp + fp + ε), makes
/// precision non-increasing from the end (each value the best at any later rank) and reads it
/// where recall first reaches each recall threshold. The same numbers come from the true
/// positives alone: between two true positives tp stays and precision only falls, so the best
/// precision from a rank on is the best among that rank's and the later true positives'; and
/// recall reaches a threshold exactly at the true positive that brings tp to the least count
/// whose recall (the same division) reaches it.
private struct CategoryCurves {
    var precision: [Double]
    var recall: [Double]

    /// Nil when no image has ground truth or detections of the category.
    init?(_ cells: [CellEvaluation]) {
        guard !cells.isEmpty else { return nil }
        let thresholds = Accumulation.thresholdCount, areas = Accumulation.areaCount
        let limits = EvaluationParameters.maxDetections, recalls = EvaluationParameters.recallThresholds
        let settings = areas * thresholds
        precision = [Double](repeating: -1, count: settings * limits.count * recalls.count)
        recall = [Double](repeating: -1, count: settings * limits.count)

        // Every kept detection in concatenation order (image, then rank), with its outcomes
        // [area][threshold] side by side ...
        var ranks = [Int32](), scores = [Double](), outcomes = [CellEvaluation.Outcome]()
        for cell in cells {
            let count = cell.scores.count
            for (rank, score) in cell.scores.enumerated() {
                ranks.append(Int32(rank))
                scores.append(score)
                for setting in 0..<settings { outcomes.append(cell.outcomes[setting * count + rank]) }
            }
        }
        // ... sorted as numpy's stable mergesort of -score sorts them; the order for a smaller
        // limit is this order without the ranks beyond it.
        var sorted = Array(scores.indices)
        sorted.sort { a, b in scores[a] != scores[b] ? scores[a] > scores[b] : a < b }
        let counted = (0..<areas).map { a in cells.reduce(0) { $0 + $1.countedGroundTruth[a] } }
        // For each area: the true positives needed to reach each recall threshold.
        let needed = counted.map { truths in recalls.map { threshold in Self.truePositivesReaching(threshold, of: truths) } }

        var truePositives = [Int](repeating: 0, count: settings), falsePositives = truePositives
        // Per setting, the precision at each true positive, in ranking order.
        var precisionAtHits = [[Double]](repeating: [], count: settings)
        for (m, limit) in limits.enumerated() {
            for setting in 0..<settings {
                truePositives[setting] = 0
                falsePositives[setting] = 0
                precisionAtHits[setting].removeAll(keepingCapacity: true)
            }
            var kept = 0
            for item in sorted where ranks[item] < limit {
                kept += 1
                for setting in 0..<settings {
                    switch outcomes[item * settings + setting] {
                    case .truePositive:
                        truePositives[setting] += 1
                        let tp = Double(truePositives[setting])
                        precisionAtHits[setting].append(tp / (Double(falsePositives[setting]) + tp + Double.ulpOfOne))
                    case .falsePositive:
                        falsePositives[setting] += 1
                    case .ignored:
                        break
                    }
                }
            }
            for a in 0..<areas where counted[a] > 0 {
                for t in 0..<thresholds {
                    let setting = a * thresholds + t
                    let slot = (t * areas + a) * limits.count + m
                    recall[slot] = kept > 0 ? Double(truePositives[setting]) / Double(counted[a]) : 0
                    // Best precision from the n-th true positive on (n = 0: from the first rank).
                    var hits = precisionAtHits[setting]
                    var index = hits.count - 2
                    while index >= 0 {
                        if hits[index + 1] > hits[index] { hits[index] = hits[index + 1] }
                        index -= 1
                    }
                    for r in recalls.indices {
                        // Recall never reaching the threshold, or no true positive at all: 0.
                        var value = 0.0
                        if let hit = needed[a][r], hit <= hits.count, !hits.isEmpty { value = hits[max(hit, 1) - 1] }
                        precision[slot * recalls.count + r] = value
                    }
                }
            }
        }
    }

    /// The least true-positive count whose recall (count / truths, in double) reaches the
    /// threshold; nil when even all the ground truth does not.
    private static func truePositivesReaching(_ threshold: Double, of truths: Int) -> Int? {
        guard truths > 0 else { return nil }
        let total = Double(truths)
        var count = max(0, min(truths, Int((threshold * total).rounded(.down))))
        while count > 0 && Double(count - 1) / total >= threshold { count -= 1 }
        while count <= truths && Double(count) / total < threshold { count += 1 }
        return count <= truths ? count : nil
    }
}

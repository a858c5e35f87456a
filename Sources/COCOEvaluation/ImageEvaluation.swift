import COCOFormat

/// COCOeval's `evaluateImg` record for one (image, category): the kept detections' scores in
/// score order, and what each counts as at every area range and IoU threshold.
struct CellEvaluation: Sendable {
    enum Outcome: UInt8, Sendable { case truePositive, falsePositive, ignored }

    let category: Int
    /// At most `maxDetections.last` scores, highest first (ties in file order).
    let scores: [Double]
    /// Indexed [area range][IoU threshold][detection].
    let outcomes: [Outcome]
    /// Ground truth that counts (is not ignored), per area range.
    let countedGroundTruth: [Int]
}

/// `computeIoU` and `evaluateImg` for every category of one image.
struct ImageEvaluation {
    let cells: EvaluationCells
    let groundTruth: GroundTruth
    let results: DetectionResults
    let iouType: IoUType

    /// The cells of image `index` that have ground truth or detections, by ascending category.
    func evaluate(image index: Int) throws -> [CellEvaluation] {
        let image = cells.images[index]
        var evaluations = [CellEvaluation]()
        for category in 0..<cells.categoryCount {
            let cell = index * cells.categoryCount + category
            let truths = cells.groundTruth[cells.groundTruthStart[cell] ..< cells.groundTruthStart[cell + 1]].map { groundTruth.annotations[$0] }
            var order = Array(cells.detections[cells.detectionStart[cell] ..< cells.detectionStart[cell + 1]])
            if truths.isEmpty && order.isEmpty { continue }
            // numpy's stable mergesort of -score: ties keep the file order.
            order.sort { a, b in
                let scoreA = results.detections[a].score, scoreB = results.detections[b].score
                return scoreA != scoreB ? scoreA > scoreB : a < b
            }
            let detections = order.prefix(EvaluationParameters.maxDetections.last!).map { results.detections[$0] }
            let ious = try overlaps(detections, truths, image: image)
            evaluations.append(match(detections, truths, ious, category: category))
        }
        return evaluations
    }

    /// The IoU of every detection (rows) with every ground truth (columns, file order).
    private func overlaps(_ detections: [DetectionResults.Detection], _ truths: [GroundTruth.Annotation],
                          image: GroundTruth.Image) throws -> [Double] {
        var ious = [Double](repeating: 0, count: detections.count * truths.count)
        guard !ious.isEmpty else { return ious }
        switch iouType {
        case .bbox:
            let boxes = try truths.map { truth in
                guard let box = truth.box else { throw EvaluationError(groundTruth.source, "annotation \(truth.id) has no bbox") }
                return box
            }
            for (d, detection) in detections.enumerated() {
                for (g, truth) in truths.enumerated() {
                    ious[d * truths.count + g] = COCOBox.iou(detection: detection.box, groundTruth: boxes[g], crowd: truth.isCrowd)
                }
            }
        case .segm:
            let masks = try truths.map { truth in
                guard let segmentation = truth.segmentation else {
                    throw EvaluationError(groundTruth.source, "annotation \(truth.id) has no segmentation")
                }
                do {
                    return try segmentation.mask(imageHeight: image.height, imageWidth: image.width)
                } catch let problem as RunLengthError {
                    throw EvaluationError(groundTruth.source, "annotation \(truth.id): segmentation: \(problem)")
                }
            }
            // pycocotools' boxes of the masks (never smaller than the masks): masks whose boxes do
            // not overlap do not intersect, and that skips most pairs.
            let truthBoxes = masks.map(\.boundingBox)
            for (d, detection) in detections.enumerated() {
                let mask = detection.mask!
                let box = mask.boundingBox
                for g in truths.indices where COCOBox.iou(detection: box, groundTruth: truthBoxes[g], crowd: false) > 0 {
                    ious[d * truths.count + g] = RunLengthMask.iou(detection: mask, groundTruth: masks[g], crowd: truths[g].isCrowd)
                }
            }
        }
        return ious
    }

    /// evaluateImg's greedy matching at every area range and threshold.
    private func match(_ detections: [DetectionResults.Detection], _ truths: [GroundTruth.Annotation], _ ious: [Double],
                       category: Int) -> CellEvaluation {
        let thresholds = EvaluationParameters.iouThresholds
        let ranges = EvaluationParameters.areaRanges
        let truthCount = truths.count, detectionCount = detections.count
        var outcomes = [CellEvaluation.Outcome](repeating: .ignored, count: ranges.count * thresholds.count * detectionCount)
        var counted = [Int](repeating: 0, count: ranges.count)
        var ignored = [Bool](repeating: false, count: truthCount)
        var order = [Int](), matched = [Bool](repeating: false, count: truthCount)
        for (rangeIndex, range) in ranges.enumerated() {
            for (g, truth) in truths.enumerated() { ignored[g] = truth.isCrowd || truth.area < range.lower || truth.area > range.upper }
            // Ground truth that counts first, each group in file order (numpy's stable argsort).
            order = truths.indices.filter { !ignored[$0] } + truths.indices.filter { ignored[$0] }
            counted[rangeIndex] = truthCount - ignored.filter { $0 }.count
            for (thresholdIndex, threshold) in thresholds.enumerated() {
                for j in 0..<truthCount { matched[j] = false }
                let base = (rangeIndex * thresholds.count + thresholdIndex) * detectionCount
                for d in 0..<detectionCount {
                    var best = min(threshold, EvaluationParameters.iouCeiling)
                    var chosen = -1
                    for j in 0..<truthCount {
                        let g = order[j]
                        if matched[j] && !truths[g].isCrowd { continue }
                        // Matched to ground truth that counts: ignored ground truth cannot do better.
                        if chosen > -1 && !ignored[order[chosen]] && ignored[g] { break }
                        let iou = ious[d * truthCount + g]
                        if iou < best { continue }
                        best = iou
                        chosen = j
                    }
                    // pycocotools records the ground truth's id, and an id of 0 reads as "no match".
                    var matchedID = 0, isIgnored = false
                    if chosen > -1 {
                        matched[chosen] = true
                        matchedID = truths[order[chosen]].id
                        isIgnored = ignored[order[chosen]]
                    }
                    let area = detections[d].area
                    if matchedID == 0 && (area < range.lower || area > range.upper) { isIgnored = true }
                    outcomes[base + d] = isIgnored ? .ignored : matchedID != 0 ? .truePositive : .falsePositive
                }
            }
        }
        return CellEvaluation(category: category, scores: detections.map(\.score), outcomes: outcomes, countedGroundTruth: counted)
    }
}

import TensorMath

/// COCO detection evaluation, the numbers pycocotools' COCOeval computes (evaluate, accumulate,
/// summarize) with its default parameters, overall and per category.
public enum COCOEvaluator {
    /// Reads both files and evaluates; every error names the file it is about.
    public static func evaluate(groundTruthPath: String, resultsPath: String, iouType: IoUType) throws -> Metrics {
        let groundTruth = try GroundTruth.load(path: groundTruthPath)
        let results = try DetectionResults.load(path: resultsPath, groundTruth: groundTruth, iouType: iouType)
        return try evaluate(groundTruth: groundTruth, results: results, iouType: iouType)
    }

    /// Evaluates detections already loaded. Images are evaluated in parallel (`computeThreads()`
    /// threads); the result does not depend on the thread count.
    public static func evaluate(groundTruth: GroundTruth, results: DetectionResults, iouType: IoUType) throws -> Metrics {
        let cells = EvaluationCells(groundTruth: groundTruth, results: results)
        let imageEvaluation = ImageEvaluation(cells: cells, groundTruth: groundTruth, results: results, iouType: iouType)
        let perImage = [Result<[CellEvaluation], Error>](unsafeUninitializedCapacity: cells.images.count) { buffer, initialised in
            parallelFor(cells.images.count) { _, image in
                (buffer.baseAddress! + image).initialize(to: Result { try imageEvaluation.evaluate(image: image) })
            }
            initialised = cells.images.count
        }
        // The first failing image in id order, whatever the threads did first.
        var cellsByCategory = [[CellEvaluation]](repeating: [], count: cells.categoryCount)
        for result in perImage {
            for cell in try result.get() { cellsByCategory[cell.category].append(cell) }
        }
        let accumulation = Accumulation(cellsByCategory: cellsByCategory)

        let categories = groundTruth.categories.sorted { $0.id < $1.id }
        var detectionCounts = [Int: Int]()
        for detection in results.detections { detectionCounts[detection.categoryID, default: 0] += 1 }
        var perCategory = [Metrics.Category]()
        for (index, category) in categories.enumerated() {
            let truths = (0..<cells.images.count).flatMap { image -> ArraySlice<Int> in
                let cell = image * cells.categoryCount + index
                return cells.groundTruth[cells.groundTruthStart[cell] ..< cells.groundTruthStart[cell + 1]]
            }
            let crowd = truths.filter { groundTruth.annotations[$0].isCrowd }.count
            perCategory.append(Metrics.Category(id: category.id, name: category.name, groundTruth: truths.count - crowd, crowd: crowd,
                                                detections: detectionCounts[category.id] ?? 0,
                                                figures: Metrics.Figures(values: Summary.values(accumulation, category: index))))
        }
        let evaluatedTruths = cells.groundTruth.count
        let crowd = cells.groundTruth.filter { groundTruth.annotations[$0].isCrowd }.count
        return Metrics(iouType: iouType, stats: Metrics.Figures(values: Summary.values(accumulation)), perCategory: perCategory,
                       groundTruth: Metrics.Input(path: groundTruth.source, sha256: groundTruth.sha256),
                       results: Metrics.Input(path: results.source, sha256: results.sha256),
                       counts: Metrics.Counts(images: cells.images.count, categories: categories.count, groundTruth: evaluatedTruths,
                                              crowd: crowd, detections: results.detections.count))
    }
}

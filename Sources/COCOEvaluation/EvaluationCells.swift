/// Ground truth and detections grouped by (image, category), as COCOeval's `_gts` and `_dts`:
/// images and categories in ascending id order, and within a cell the file order.
/// Annotations of images or categories the ground truth does not list are left out, as there.
struct EvaluationCells {
    let images: [GroundTruth.Image]
    let categoryIDs: [Int]
    /// Cell (image i, category k) is i · categoryCount + k; its members are
    /// `groundTruth[groundTruthStart[c] ..< groundTruthStart[c + 1]]` (annotation indices).
    let groundTruthStart: [Int]
    let groundTruth: [Int]
    let detectionStart: [Int]
    let detections: [Int]

    var categoryCount: Int { categoryIDs.count }

    init(groundTruth truth: GroundTruth, results: DetectionResults) {
        images = truth.images.sorted { $0.id < $1.id }
        categoryIDs = truth.categories.map(\.id).sorted()
        // GroundTruth's initialiser refuses duplicate ids; should its arrays be edited later, the first wins.
        let imageIndex = Dictionary(images.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        let categoryIndex = Dictionary(categoryIDs.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let categories = categoryIDs.count
        func cell(_ imageID: Int, _ categoryID: Int) -> Int? {
            guard let image = imageIndex[imageID], let category = categoryIndex[categoryID] else { return nil }
            return image * categories + category
        }
        let cellCount = images.count * categories
        (groundTruthStart, groundTruth) = Self.group(truth.annotations.map { cell($0.imageID, $0.categoryID) }, cellCount: cellCount)
        (detectionStart, detections) = Self.group(results.detections.map { cell($0.imageID, $0.categoryID) }, cellCount: cellCount)
    }

    /// A stable counting sort of item indices by cell.
    private static func group(_ cells: [Int?], cellCount: Int) -> (start: [Int], members: [Int]) {
        var start = [Int](repeating: 0, count: cellCount + 1)
        for case let cell? in cells { start[cell + 1] += 1 }
        for index in 0..<cellCount { start[index + 1] += start[index] }
        var next = start
        var members = [Int](repeating: 0, count: start[cellCount])
        for (item, cell) in cells.enumerated() {
            guard let cell else { continue }
            members[next[cell]] = item
            next[cell] += 1
        }
        return (start, members)
    }
}

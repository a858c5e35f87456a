/// COCOeval's default detection parameters (`Params.setDetParams`), with the exact threshold
/// values numpy's `linspace` gives (an IoU of exactly 0.7 must meet the same 0.7 pycocotools uses).
public enum EvaluationParameters {
    /// 0.50, 0.55, …, 0.95.
    public static let iouThresholds = linspace(0.5, 0.95, count: 10)
    /// 0.00, 0.01, …, 1.00.
    public static let recallThresholds = linspace(0.0, 1.0, count: 101)
    /// Detections kept per image and category, ascending; the last is the evaluation's limit.
    public static let maxDetections = [1, 10, 100]
    /// The area ranges, both ends inclusive: all, small, medium, large.
    public static let areaRanges: [(label: String, lower: Double, upper: Double)] = [
        ("all", 0, 1e10), ("small", 0, 1024), ("medium", 1024, 9216), ("large", 9216, 1e10),
    ]
    /// evaluateImg's cap on a match's IoU threshold.
    static let iouCeiling = 1 - 1e-10

    /// numpy's `linspace(start, stop, count)`: i · step + start, the last value exactly `stop`.
    static func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
        let step = (stop - start) / Double(count - 1)
        var values = (0..<count).map { Double($0) * step + start }
        values[count - 1] = stop
        return values
    }
}

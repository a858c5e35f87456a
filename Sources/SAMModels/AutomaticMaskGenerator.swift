import Geometry
import TensorMath

/// The first stage of SAM's automatic mask generator (one crop layer: the whole image): a grid of
/// single-point prompts, IoU and stability filters, and box non-maximum suppression.
public struct AutomaticMaskGenerator {
    public var pointsPerSide = 32
    public var pointsPerBatch = 64
    public var predIoUThreshold: Float = 0.88
    public var stabilityScoreThreshold: Float = 0.95
    public var stabilityScoreOffset: Float = 1
    public var boxNMSThreshold: Float = 0.7

    public init() {}

    /// One surviving mask.
    public struct Record: Sendable {
        public var mask: [UInt8]
        public var area: Int
        /// x, y, width, height with inclusive pixel extents, as SAM reports them.
        public var bboxXYWH: SIMD4<Int>
        public var predictedIoU: Float
        public var stabilityScore: Float
        public var pointCoords: SIMD2<Double>
    }

    /// Grid points in [0, 1]², rows of constant y with x varying fastest (`build_point_grid`).
    public static func pointGrid(side n: Int) -> [SIMD2<Double>] {
        let offset = 1 / (2 * Double(n))
        let step = n > 1 ? (1 - 2 * offset) / Double(n - 1) : 0
        var points: [SIMD2<Double>] = []
        for i in 0..<n {
            for j in 0..<n { points.append(SIMD2(offset + Double(j) * step, offset + Double(i) * step)) }
        }
        return points
    }

    /// SAM's two filters, with its comparisons: predicted IoU strictly above its threshold,
    /// stability at or above its own.
    public func keeps(predictedIoU: Float, stability: Float) -> Bool {
        predictedIoU > predIoUThreshold && stability >= stabilityScoreThreshold
    }

    /// Runs every grid point through the decoder. `onBatch` sees the raw IoU predictions and
    /// stability scores of each batch before filtering (3 per point).
    public func generate(model: SegmentAnythingModel, embedding: Tensor, geometry: ImageGeometry,
                         onBatch: (([Float], [Float]) -> Void)? = nil) -> [Record] {
        let (h, w) = (geometry.originalSize.height, geometry.originalSize.width)
        let points = Self.pointGrid(side: pointsPerSide).map { $0 * SIMD2(Double(w), Double(h)) }
        let prepared = model.prepare(embedding: embedding, geometry: geometry)
        var candidates: [(record: Record, box: SIMD4<Int>)] = []
        for batchStart in stride(from: 0, to: points.count, by: pointsPerBatch) {
            var batchIoU: [Float] = [], batchStability: [Float] = []
            let batch = points[batchStart ..< min(batchStart + pointsPerBatch, points.count)]
            let prompts = batch.map { PromptSet(points: [PixelPoint(x: Float($0.x), y: Float($0.y))], labels: [1]) }
            let predictions = model.predict(prepared, prompts: prompts, multimask: true, stabilityOffset: stabilityScoreOffset)
            for (point, prediction) in zip(batch, predictions) {
                batchIoU += prediction.iouPredictions
                batchStability += prediction.stabilityScores
                for (i, mask) in prediction.masks.enumerated()
                where keeps(predictedIoU: prediction.iouPredictions[i], stability: prediction.stabilityScores[i]) {
                    guard let box = boundingBox(mask, width: w, height: h) else { continue }
                    let record = Record(mask: mask, area: mask.reduce(0) { $0 + Int($1) },
                                        bboxXYWH: SIMD4(box[0], box[1], box[2] - box[0], box[3] - box[1]),
                                        predictedIoU: prediction.iouPredictions[i],
                                        stabilityScore: prediction.stabilityScores[i], pointCoords: point)
                    candidates.append((record, box))
                }
            }
            onBatch?(batchIoU, batchStability)
        }
        let keep = nonMaximumSuppression(boxes: candidates.map(\.box), scores: candidates.map(\.record.predictedIoU),
                                         threshold: boxNMSThreshold)
        return keep.map { candidates[$0].record }
    }
}

/// Inclusive pixel extents (x0, y0, x1, y1) of the nonzero pixels, or nil for an empty mask.
public func boundingBox(_ mask: [UInt8], width: Int, height: Int) -> SIMD4<Int>? {
    var x0 = width, y0 = height, x1 = -1, y1 = -1
    for y in 0..<height {
        let row = y * width
        var first = -1, last = -1
        for x in 0..<width where mask[row + x] != 0 {
            if first < 0 { first = x }
            last = x
        }
        guard first >= 0 else { continue }
        x0 = min(x0, first); x1 = max(x1, last)
        y0 = min(y0, y); y1 = y
    }
    return x1 < 0 ? nil : SIMD4(x0, y0, x1, y1)
}

/// Greedy NMS: visit boxes by descending score (stable), drop any whose IoU with a kept box
/// exceeds `threshold`. Areas are (x1 − x0)·(y1 − y0) without +1, as torchvision computes them.
public func nonMaximumSuppression(boxes: [SIMD4<Int>], scores: [Float], threshold: Float) -> [Int] {
    let order = boxes.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    let area = { (b: SIMD4<Int>) in Float((b[2] - b[0]) * (b[3] - b[1])) }
    var kept: [Int] = []
    for i in order {
        let b = boxes[i]
        let suppressed = kept.contains { k in
            let o = boxes[k]
            let iw = max(0, min(b[2], o[2]) - max(b[0], o[0]))
            let ih = max(0, min(b[3], o[3]) - max(b[1], o[1]))
            let inter = Float(iw * ih)
            return inter / (area(b) + area(o) - inter) > threshold
        }
        if !suppressed { kept.append(i) }
    }
    return kept
}

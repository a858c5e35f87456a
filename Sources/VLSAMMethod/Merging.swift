import Geometry

/// One candidate detection (§10): a kept mask with its object name and score, and where it came
/// from, so ensembles can be merged and reported.
public struct Detection: Sendable, Equatable {
    public var name: String
    /// The decoder's predicted IoU of the mask.
    public var score: Float
    /// Row-major 0/1 mask at the photo's size.
    public var mask: [UInt8]
    /// The smallest box holding the mask, pixel edges (x1, y1 exclusive).
    public var box: PixelBox
    /// Which question prompt (question ensemble), which scale (0 the whole photo, 1…4 its
    /// quadrant crops) and which refinement iteration produced it.
    public var question: Int
    public var scale: Int
    public var iteration: Int
    /// The point prompts of that iteration (positives then negatives) and their labels.
    public var points: [PixelPoint]
    public var labels: [Int32]

    public init(name: String, score: Float, mask: [UInt8], box: PixelBox, question: Int = 0, scale: Int = 0,
                iteration: Int = 0, points: [PixelPoint] = [], labels: [Int32] = []) {
        self.name = name
        self.score = score
        self.mask = mask
        self.box = box
        self.question = question
        self.scale = scale
        self.iteration = iteration
        self.points = points
        self.labels = labels
    }
}

/// Merging of candidate detections (§10): mask-IoU non-maximum suppression within each object
/// name — a candidate is dropped when its mask overlaps a kept one of the same name with IoU
/// above the threshold, candidates taken by descending score (ties: candidate order) — then the
/// survivors ordered by score.
public enum Merging {
    public static let defaultIoUThreshold = 0.5

    /// Indices of the kept candidates, by descending score (ties: candidate order).
    public static func keep(_ candidates: [Detection], iouThreshold: Double = defaultIoUThreshold) -> [Int] {
        let order = candidates.indices.sorted { a, b in
            candidates[a].score > candidates[b].score || (candidates[a].score == candidates[b].score && a < b)
        }
        let areas = candidates.map { $0.mask.reduce(0) { $0 + Int($1 != 0 ? 1 : 0) } }
        var kept: [Int] = []
        for i in order {
            let suppressed = kept.contains { k in
                guard candidates[k].name == candidates[i].name else { return false }
                let union = areas[i] + areas[k] - intersection(candidates[i].mask, candidates[k].mask)
                let iou = union == 0 ? 1 : Double(areas[i] + areas[k] - union) / Double(union)
                return iou > iouThreshold
            }
            if !suppressed { kept.append(i) }
        }
        return kept
    }

    static func intersection(_ a: [UInt8], _ b: [UInt8]) -> Int {
        precondition(a.count == b.count, "Merging: masks of \(a.count) and \(b.count) pixels")
        var count = 0
        for i in a.indices where a[i] != 0 && b[i] != 0 { count += 1 }
        return count
    }
}

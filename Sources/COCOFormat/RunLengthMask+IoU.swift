/// Mask overlap as COCO evaluation measures it (`rleIou` in maskApi.c), walking both run lists.
extension RunLengthMask {
    /// Pixels in both masks and pixels in either (the masks must have one size).
    public static func overlap(_ a: RunLengthMask, _ b: RunLengthMask) -> (intersection: Int, union: Int) {
        precondition(a.height == b.height && a.width == b.width, "overlap of a \(a.height)x\(a.width) and a \(b.height)x\(b.width) mask")
        return a.counts.withUnsafeBufferPointer { a in
            b.counts.withUnsafeBufferPointer { b in
                guard !a.isEmpty, !b.isEmpty else { return (0, 0) }
                var intersection = 0, union = 0
                var leftA = Int(a[0]), leftB = Int(b[0])
                var nextA = 1, nextB = 1
                var inA = false, inB = false
                while true {
                    let step = min(leftA, leftB)
                    if inA || inB {
                        union += step
                        if inA && inB { intersection += step }
                    }
                    leftA -= step
                    leftB -= step
                    // Whichever runs ended give way to their successors (zero-length ones included).
                    while leftA == 0, nextA < a.count { leftA = Int(a[nextA]); nextA += 1; inA.toggle() }
                    while leftB == 0, nextB < b.count { leftB = Int(b[nextB]); nextB += 1; inB.toggle() }
                    if leftA == 0 || leftB == 0 { break }
                }
                return (intersection, union)
            }
        }
    }

    /// COCO's IoU of a detection with a ground-truth mask, as `pycocotools.mask.iou` computes it:
    /// intersection over union, or over the detection's area when the ground truth is a crowd
    /// region; 0 when they do not intersect; -1 when the sizes differ and the boxes overlap (0 when
    /// they do not).
    public static func iou(detection: RunLengthMask, groundTruth: RunLengthMask, crowd: Bool) -> Double {
        guard detection.height == groundTruth.height, detection.width == groundTruth.width else {
            return COCOBox.iou(detection: detection.boundingBox, groundTruth: groundTruth.boundingBox, crowd: crowd) > 0 ? -1 : 0
        }
        let (intersection, union) = overlap(detection, groundTruth)
        guard intersection > 0 else { return 0 }
        return Double(intersection) / Double(crowd ? detection.area : union)
    }
}

extension COCOBox {
    /// COCO's IoU of a detection box with a ground-truth box (`bbIou` in maskApi.c, the same
    /// double arithmetic): over the detection's area for a crowd region, 0 without overlap.
    public static func iou(detection d: COCOBox, groundTruth g: COCOBox, crowd: Bool) -> Double {
        let overlapWidth = min(d.width + d.x, g.width + g.x) - max(d.x, g.x)
        guard overlapWidth > 0 else { return 0 }
        let overlapHeight = min(d.height + d.y, g.height + g.y) - max(d.y, g.y)
        guard overlapHeight > 0 else { return 0 }
        let intersection = overlapWidth * overlapHeight
        let detectionArea = d.width * d.height
        return intersection / (crowd ? detectionArea : detectionArea + g.width * g.height - intersection)
    }
}

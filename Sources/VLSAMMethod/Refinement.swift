import Geometry

/// One step of iterative refinement (§9), given the prompt map P and the mask m kept by the
/// previous iteration, plus the mask geometry the driver needs.
public enum Refinement {
    /// Refinement stops when consecutive masks overlap by more than this IoU.
    public static let convergedIoU = 0.95

    /// The positive is the peak of the largest component of {P ≥ tau} ∩ m; the negative the
    /// candidate (P ≥ tau) of largest P outside m, which may lie in the positive's own attention
    /// component where m cuts it. Not `localised` (no points) when {P ≥ tau} ∩ m is empty:
    /// refinement stops and m is final. `mask` is row-major, P's size, non-zero inside.
    public static func points(_ map: AttentionMap, keptMask mask: [UInt8], threshold: Float = 0.5) -> SampledPoints {
        var result = SampledPoints()
        guard let (components, area) = CandidateAreas(map, threshold: threshold, within: mask).largest(into: &result) else {
            return result
        }
        map.values.withUnsafeBufferPointer { p in
            if let positive = peak(p, runs: components, width: map.width, include: { $0 == area }) {
                result.positives = [PixelPoint(pixel: positive, width: map.width)]
            }
            var best: Int?, bestValue = -Float.infinity
            for i in 0..<p.count where mask[i] == 0 && p[i] >= threshold && (best == nil || p[i] > bestValue) {
                best = i
                bestValue = p[i]
            }
            result.negatives = best.map { [PixelPoint(pixel: $0, width: map.width)] } ?? []
        }
        return result
    }

    /// The smallest box holding every set pixel, for a box prompt: its edges are pixel edges, so x1
    /// and y1 are one past the last set column and row. Nil for an empty mask.
    public static func boundingBox(of mask: [UInt8], height: Int, width: Int) -> PixelBox? {
        precondition(mask.count == height * width, "Refinement: a mask of \(mask.count) pixels for \(height) × \(width)")
        var x0 = width, y0 = height, x1 = 0, y1 = 0
        for y in 0..<height {
            let row = mask[y * width ..< (y + 1) * width]
            guard let first = row.firstIndex(where: { $0 != 0 }), let last = row.lastIndex(where: { $0 != 0 }) else { continue }
            x0 = min(x0, first - y * width)
            x1 = max(x1, last - y * width + 1)
            y0 = min(y0, y)
            y1 = y + 1
        }
        return y1 > 0 ? PixelBox(x0: Float(x0), y0: Float(y0), x1: Float(x1), y1: Float(y1)) : nil
    }

    /// |a ∩ b| / |a ∪ b|; two empty masks count as identical (1).
    public static func iou(_ a: [UInt8], _ b: [UInt8]) -> Double {
        precondition(a.count == b.count, "Refinement: masks of \(a.count) and \(b.count) pixels")
        var both = 0, either = 0
        for (x, y) in zip(a, b) {
            both += x != 0 && y != 0 ? 1 : 0
            either += x != 0 || y != 0 ? 1 : 0
        }
        return either == 0 ? 1 : Double(both) / Double(either)
    }

    /// Whether refinement has converged: the new mask differs from the previous one by little.
    public static func converged(previous: [UInt8], current: [UInt8]) -> Bool {
        iou(previous, current) > convergedIoU
    }
}

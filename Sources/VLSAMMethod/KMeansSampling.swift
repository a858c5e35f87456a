import Geometry

extension PointSampler {
    /// k-means on the candidate pixels' coordinates weighted by P, seeded by k-means++ from
    /// `seed`; each centroid's nearest candidate pixel is a positive (heaviest cluster first).
    /// The strategy gives no negatives.
    func kmeans(_ map: AttentionMap) -> SampledPoints {
        var result = SampledPoints()
        result.seed = seed
        let candidates = map.values.indices.filter { map.values[$0] >= threshold }
        result.candidatePixels = candidates.count
        guard !candidates.isEmpty, count > 0 else { return result }
        result.localised = true
        let points = candidates.map { SIMD2<Double>(Double($0 % map.width), Double($0 / map.width)) }
        let weights = candidates.map { Double(max(map.values[$0], 0)) }
        var clusters = WeightedKMeans(points: points, weights: weights, k: count, seed: seed)
        clusters.run()
        var chosen: [Int] = []
        for centre in clusters.centresByWeight() {
            // Nearest candidate; ties go to the first in row-major order.
            var best = 0, bestDistance = Double.infinity
            for (i, point) in points.enumerated() {
                let d = point - centre, distance = (d * d).sum()
                if distance < bestDistance { best = i; bestDistance = distance }
            }
            if !chosen.contains(candidates[best]) { chosen.append(candidates[best]) }
        }
        result.positives = chosen.map { PixelPoint(pixel: $0, width: map.width) }
        return result
    }
}

/// Lloyd's k-means on weighted 2-D points with weighted k-means++ seeding.
struct WeightedKMeans {
    let points: [SIMD2<Double>]
    let weights: [Double]
    private(set) var centres: [SIMD2<Double>] = []
    private(set) var assignment: [Int]

    init(points: [SIMD2<Double>], weights: [Double], k: Int, seed: UInt64) {
        self.points = points
        self.weights = weights
        assignment = [Int](repeating: 0, count: points.count)
        var generator = SplitMix64(seed: seed)
        // k-means++: the first centre with probability ∝ w, each next one ∝ w · D², D the distance
        // to the nearest centre so far; fewer than k when the rest coincide with centres.
        var nearest = [Double](repeating: 1, count: points.count)
        while centres.count < k {
            let scores = zip(weights, nearest).map { $0 * $1 }
            guard let pick = Self.draw(scores, &generator) else { break }
            centres.append(points[pick])
            for (i, point) in points.enumerated() {
                let d = point - points[pick]
                nearest[i] = centres.count == 1 ? (d * d).sum() : min(nearest[i], (d * d).sum())
            }
        }
    }

    /// Iterates until no assignment changes (or 100 rounds).
    mutating func run() {
        for round in 0..<100 {
            var changed = round == 0
            for (i, point) in points.enumerated() {
                let best = nearestCentre(point)
                if best != assignment[i] { assignment[i] = best; changed = true }
            }
            guard changed else { return }
            var sums = [SIMD2<Double>](repeating: .zero, count: centres.count), mass = [Double](repeating: 0, count: centres.count)
            for (i, point) in points.enumerated() {
                sums[assignment[i]] += weights[i] * point
                mass[assignment[i]] += weights[i]
            }
            // An empty (or weightless) cluster keeps its centre.
            for c in centres.indices where mass[c] > 0 { centres[c] = sums[c] / mass[c] }
        }
    }

    /// Centres ordered by their clusters' total weight, heaviest first (ties by seeding order).
    func centresByWeight() -> [SIMD2<Double>] {
        var mass = [Double](repeating: 0, count: centres.count)
        for (i, c) in assignment.enumerated() { mass[c] += weights[i] }
        return centres.indices.sorted { mass[$0] > mass[$1] || (mass[$0] == mass[$1] && $0 < $1) }.map { centres[$0] }
    }

    private func nearestCentre(_ point: SIMD2<Double>) -> Int {
        var best = 0, bestDistance = Double.infinity
        for (c, centre) in centres.enumerated() {
            let d = point - centre, distance = (d * d).sum()
            if distance < bestDistance { best = c; bestDistance = distance }
        }
        return best
    }

    /// An index drawn with probability ∝ scores; nil when they sum to 0.
    private static func draw(_ scores: [Double], _ generator: inout SplitMix64) -> Int? {
        let total = scores.reduce(0, +)
        guard total > 0 else { return nil }
        var target = generator.unit() * total
        for (i, score) in scores.enumerated() where score > 0 {
            target -= score
            if target < 0 { return i }
        }
        return scores.lastIndex { $0 > 0 }
    }
}

import Foundation
import Geometry

extension PointSampler {
    /// Up to k positives drawn with probability ∝ P inside the largest candidate component and up
    /// to k negatives drawn uniformly outside it, without replacement, from a generator seeded
    /// with `seed` (recorded in the result).
    func random(_ map: AttentionMap) -> SampledPoints {
        var result = SampledPoints()
        result.seed = seed
        guard let (components, area) = CandidateAreas(map, threshold: threshold).largest(into: &result) else { return result }
        var inside = [Bool](repeating: false, count: map.values.count)
        for run in components.runs(of: area) {
            for x in run.start..<run.end { inside[run.row * map.width + x] = true }
        }
        var generator = SplitMix64(seed: seed)
        let positives = Self.draw(count, from: inside.indices.lazy.filter { inside[$0] },
                                  weight: { Double(max(map.values[$0], 0)) }, &generator)
        let negatives = Self.draw(count, from: inside.indices.lazy.filter { !inside[$0] }, weight: { _ in 1 }, &generator)
        result.positives = positives.map { PixelPoint(pixel: $0, width: map.width) }
        result.negatives = negatives.map { PixelPoint(pixel: $0, width: map.width) }
        return result
    }

    /// A weighted sample of up to `count` distinct pixels (Efraimidis–Spirakis: each pixel's key
    /// is log(u) / w, the largest keys win), in descending key order; weightless pixels never win.
    private static func draw(_ count: Int, from pixels: some Sequence<Int>, weight: (Int) -> Double,
                             _ generator: inout SplitMix64) -> [Int] {
        var best: [(key: Double, pixel: Int)] = []
        for pixel in pixels {
            let w = weight(pixel), u = generator.unit()
            guard w > 0, count > 0 else { continue }
            let key = log(max(u, .leastNonzeroMagnitude)) / w
            guard best.count < count || key > best[best.count - 1].key else { continue }
            let position = best.firstIndex { $0.key < key } ?? best.count
            best.insert((key, pixel), at: position)
            if best.count > count { best.removeLast() }
        }
        return best.map(\.pixel)
    }
}

/// SplitMix64: a small, fast, seedable generator, so that a recorded seed reproduces the points.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

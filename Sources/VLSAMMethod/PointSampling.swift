import Geometry

extension PixelPoint {
    /// The centre of pixel `index` of a row-major map `width` pixels wide.
    init(pixel index: Int, width: Int) {
        self.init(x: Float(index % width) + 0.5, y: Float(index / width) + 0.5)
    }
}

/// The prompts drawn from one object's map, with what a check or a report needs to know about
/// how they were found.
public struct SampledPoints: Sendable, Equatable {
    public var positives: [PixelPoint] = []
    public var negatives: [PixelPoint] = []
    /// False when no pixel reached the threshold: the object is reported as not localised (or,
    /// in refinement, the kept mask met no candidate and refinement stops).
    public var localised = false
    /// Pixels with P ≥ tau (in refinement: inside the kept mask).
    public var candidatePixels = 0
    /// 8-connected components of those pixels.
    public var components = 0
    /// Pixels of the component the positive point came from.
    public var positiveAreaPixels = 0
    /// local-maxima: plateaus of local maxima (P ≥ tau) and of local minima (P < tau) found.
    public var maximaFound = 0
    public var minimaFound = 0
    /// random: the generator's seed.
    public var seed: UInt64?

    public init() {}
}

/// Turns a prompt map P (values in [0, 1] at the photo's size) into point prompts (§8).
public struct PointSampler: Sendable {
    public var strategy: SamplingStrategy
    /// tau: a pixel is a candidate when P ≥ tau.
    public var threshold: Float
    /// k: points per kind for local-maxima, kmeans and random.
    public var count: Int
    /// local-maxima: least distance between positives; nil means 1/20 of the shorter side.
    public var minDistance: Double?
    /// kmeans and random.
    public var seed: UInt64

    public init(strategy: SamplingStrategy = .vlSAM, threshold: Float = 0.5, count: Int = 3,
                minDistance: Double? = nil, seed: UInt64 = 0) {
        self.strategy = strategy
        self.threshold = threshold
        self.count = count
        self.minDistance = minDistance
        self.seed = seed
    }

    public func sample(_ map: AttentionMap) -> SampledPoints {
        switch strategy {
        case .vlSAM: return vlSAM(map)
        case .localMaxima: return localMaxima(map)
        case .kmeans: return kmeans(map)
        case .random: return random(map)
        }
    }

    /// The paper's rule: the positive is the peak of the largest candidate component, the negative
    /// the best candidate outside it (the peak of the strongest competing component).
    func vlSAM(_ map: AttentionMap) -> SampledPoints {
        var result = SampledPoints()
        guard let (components, area) = CandidateAreas(map, threshold: threshold).largest(into: &result) else { return result }
        let best = map.values.withUnsafeBufferPointer { p in
            (inside: peak(p, runs: components, width: map.width) { $0 == area },
             outside: peak(p, runs: components, width: map.width) { $0 != area })
        }
        result.positives = best.inside.map { [PixelPoint(pixel: $0, width: map.width)] } ?? []
        result.negatives = best.outside.map { [PixelPoint(pixel: $0, width: map.width)] } ?? []
        return result
    }
}

/// The candidates {P ≥ tau} (optionally inside a mask) and their components.
struct CandidateAreas {
    let mask: [Bool]
    let count: Int
    let height: Int, width: Int

    init(_ map: AttentionMap, threshold: Float, within keep: [UInt8]? = nil) {
        var count = 0
        mask = map.values.withUnsafeBufferPointer { p in
            if let keep {
                precondition(keep.count == p.count, "CandidateAreas: a mask of \(keep.count) pixels for a \(map.height) × \(map.width) map")
                return (0..<p.count).map { p[$0] >= threshold && keep[$0] != 0 }
            }
            return p.map { $0 >= threshold }
        }
        for set in mask where set { count += 1 }
        self.count = count
        height = map.height
        width = map.width
    }

    /// Components and the largest one (most pixels, ties by first pixel); nil without candidates.
    /// Records the counts in `result` and marks it localised when there is a candidate.
    func largest(into result: inout SampledPoints) -> (ConnectedComponents, Int)? {
        result.candidatePixels = count
        guard count > 0 else { return nil }
        let components = ConnectedComponents(mask: mask, height: height, width: width)
        let area = components.largest!
        result.localised = true
        result.components = components.count
        result.positiveAreaPixels = components.sizes[area]
        return (components, area)
    }
}

/// The pixel of largest value over the runs of the components `include` accepts; ties go to the
/// first in row-major order. Nil when no run is accepted.
func peak(_ values: UnsafeBufferPointer<Float>, runs components: ConnectedComponents, width: Int,
          include: (Int) -> Bool) -> Int? {
    var best: Int?, bestValue = -Float.infinity
    for (r, run) in components.runs.enumerated() where include(components.componentOfRun[r]) {
        let base = run.row * width
        for x in run.start..<run.end where best == nil || values[base + x] > bestValue {
            best = base + x
            bestValue = values[base + x]
        }
    }
    return best
}

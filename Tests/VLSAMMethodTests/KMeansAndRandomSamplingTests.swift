import Geometry
import VLSAMMethod
import XCTest

/// The comparison strategies kmeans and random: reproducible from their seed, and drawing only
/// from where they should.
final class KMeansAndRandomSamplingTests: XCTestCase {
    /// Two uniform 5 × 5 squares of P = 0.8 centred on (4, 4) and (4, 22), far apart.
    private let squares: AttentionMap = {
        var m = AttentionMap(zerosHeight: 12, width: 28)
        for y in 2..<7 { for x in 2..<7 { m[y, x] = 0.8 }; for x in 20..<25 { m[y, x] = 0.8 } }
        return m
    }()

    func testKMeansFindsTheCentresOfTwoSquares() {
        let sampler = PointSampler(strategy: .kmeans, count: 2, seed: 7)
        let points = sampler.sample(squares)
        XCTAssertEqual(Set(points.positives.map { [$0.x, $0.y] }), [[4.5, 4.5], [22.5, 4.5]])
        XCTAssertEqual(points.negatives, [])
        XCTAssertEqual(points.candidatePixels, 50)
        XCTAssertEqual(sampler.sample(squares), points, "same seed, same points")
    }

    func testKMeansPositivesAreCandidates() {
        // A smooth ridge: whatever the seed, each positive is a pixel with P ≥ tau.
        let ridge = AttentionMap(height: 30, width: 40, values: (0..<1200).map { i in
            let (y, x) = (Float(i / 40), Float(i % 40))
            return max(0, 1 - abs(y - 0.5 * x) / 8) * (x + 10) / 50
        })
        for seed in 0..<5 as Range<UInt64> {
            let points = PointSampler(strategy: .kmeans, count: 3, seed: seed).sample(ridge)
            XCTAssertFalse(points.positives.isEmpty)
            XCTAssertLessThanOrEqual(points.positives.count, 3)
            for point in points.positives { XCTAssertGreaterThanOrEqual(ridge[Int(point.y), Int(point.x)], 0.5, "seed \(seed)") }
        }
    }

    func testRandomDrawsPositivesInTheAreaAndNegativesOutside() {
        // The larger square (6 × 6 at rows 2–7, cols 2–7) is the positive area; the smaller one
        // is outside it like the background.
        var m = squares
        for y in 2..<8 { m[y, 7] = 0.6 }
        for x in 2..<8 { m[7, x] = 0.6 }
        let sampler = PointSampler(strategy: .random, count: 3, seed: 42)
        let points = sampler.sample(m)
        XCTAssertEqual(points.seed, 42)
        XCTAssertEqual(points.positives.count, 3)
        XCTAssertEqual(points.negatives.count, 3)
        XCTAssertEqual(Set(points.positives.map { [$0.x, $0.y] }).count, 3, "distinct positives")
        for point in points.positives {
            XCTAssertTrue((2..<8).contains(Int(point.x)) && (2..<8).contains(Int(point.y)), "positive \(point)")
        }
        for point in points.negatives {
            XCTAssertFalse((2..<8).contains(Int(point.x)) && (2..<8).contains(Int(point.y)), "negative \(point)")
        }
        XCTAssertEqual(sampler.sample(m), points, "same seed, same points")
        let others = (1...5 as ClosedRange<UInt64>).map { PointSampler(strategy: .random, count: 3, seed: $0).sample(m) }
        XCTAssertTrue(others.contains { $0.positives != points.positives }, "the seed matters")
    }

    func testRandomPositivesFollowP() {
        // One component: a single pixel of P = 1 beside 99 pixels of P = 0.5. Drawn one at a
        // time, the strong pixel should win about 1 / (1 + 99 · 0.5) ≈ 2% of the draws, never all.
        var m = AttentionMap(zerosHeight: 10, width: 10)
        for i in 0..<100 { m.values[i] = 0.5 }
        m[0, 0] = 1
        let wins = (0..<2000 as Range<UInt64>).filter { seed in
            PointSampler(strategy: .random, count: 1, seed: seed).sample(m).positives == [PixelPoint(x: 0.5, y: 0.5)]
        }.count
        XCTAssertGreaterThan(wins, 15)
        XCTAssertLessThan(wins, 70)
    }
}

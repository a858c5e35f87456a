import Geometry
import VLSAMMethod
import XCTest

/// The vl-sam and local-maxima strategies on small maps whose answers follow from the rules of §8.
final class PointSamplingTests: XCTestCase {
    private func map(_ height: Int, _ width: Int, _ fill: (Int, Int) -> Float = { _, _ in 0 }) -> AttentionMap {
        AttentionMap(height: height, width: width, values: (0..<height * width).map { fill($0 / width, $0 % width) })
    }

    private let vlSAM = PointSampler(), localMaxima = PointSampler(strategy: .localMaxima)

    /// A large blob of 0.7 with a 0.8 peak, and a small, stronger blob of 0.9 with a 1.0 peak.
    private let twoBlobs: AttentionMap = {
        var m = AttentionMap(zerosHeight: 20, width: 30)
        for y in 2..<8 { for x in 2..<10 { m[y, x] = 0.7 } }     // 48 pixels
        m[4, 5] = 0.8
        for y in 12..<15 { for x in 20..<23 { m[y, x] = 0.9 } }  // 9 pixels
        m[13, 21] = 1
        return m
    }()

    func testLargestComponentGivesThePositiveAndTheStrongerOneTheNegative() {
        let points = vlSAM.sample(twoBlobs)
        XCTAssertTrue(points.localised)
        XCTAssertEqual(points.positives, [PixelPoint(x: 5.5, y: 4.5)])
        XCTAssertEqual(points.negatives, [PixelPoint(x: 21.5, y: 13.5)])
        XCTAssertEqual(points.components, 2)
        XCTAssertEqual(points.positiveAreaPixels, 48)
        XCTAssertEqual(points.candidatePixels, 57)
    }

    func testLocalMaximaOfTwoBlobs() {
        // Maxima: the 1.0 and 0.8 peaks, and the 0.7 shoulder of the large blob away from its peak
        // (one plateau, first pixel (2, 2)); the small blob is all peak neighbourhood. The distance
        // rule (min side / 20 = 1 pixel) removes nothing. Minima: the zero background, one plateau.
        let points = localMaxima.sample(twoBlobs)
        XCTAssertEqual(points.positives, [PixelPoint(x: 21.5, y: 13.5), PixelPoint(x: 5.5, y: 4.5), PixelPoint(x: 2.5, y: 2.5)])
        XCTAssertEqual(points.negatives, [PixelPoint(x: 0.5, y: 0.5)])
        XCTAssertEqual(points.maximaFound, 3)
        XCTAssertEqual(points.minimaFound, 1)
    }

    func testDistanceRuleSkipsNearMaxima() {
        // Peaks 1.0 at (0, 0), 0.9 at (0, 4), 0.8 at (0, 9) on a 10 × 10 map; with min distance 5 the
        // 0.9 peak (4 pixels away) is skipped, the 0.8 one (9 away) taken.
        var m = AttentionMap(zerosHeight: 10, width: 10)
        m[0, 0] = 1; m[0, 4] = 0.9; m[0, 9] = 0.8
        let points = PointSampler(strategy: .localMaxima, minDistance: 5).sample(m)
        XCTAssertEqual(points.positives, [PixelPoint(x: 0.5, y: 0.5), PixelPoint(x: 9.5, y: 0.5)])
        XCTAssertEqual(points.maximaFound, 3)
    }

    func testTiesGoToTheFirstPixelInRowMajorOrder() {
        // Two 4-pixel components of equal value: Y (rows 1–2, cols 5–6) starts on row 1, X (rows
        // 3–4, cols 0–1) on row 3, so Y is the positive area although X comes first column-major.
        let m = map(6, 8) { y, x in (1..<3).contains(y) && (5..<7).contains(x) || (3..<5).contains(y) && (0..<2).contains(x) ? 0.6 : 0 }
        let points = vlSAM.sample(m)
        XCTAssertEqual(points.positives, [PixelPoint(x: 5.5, y: 1.5)])
        XCTAssertEqual(points.negatives, [PixelPoint(x: 0.5, y: 3.5)])
        XCTAssertEqual(points.positiveAreaPixels, 4)
        XCTAssertEqual(localMaxima.sample(m).positives, [PixelPoint(x: 5.5, y: 1.5), PixelPoint(x: 0.5, y: 3.5)])
    }

    func testConstantMaps() {
        let high = map(5, 4) { _, _ in 0.7 }
        let points = vlSAM.sample(high)
        XCTAssertEqual(points.positives, [PixelPoint(x: 0.5, y: 0.5)])
        XCTAssertEqual(points.negatives, [])
        XCTAssertEqual(points.components, 1)
        XCTAssertEqual(points.positiveAreaPixels, 20)
        let plateau = localMaxima.sample(high)
        XCTAssertEqual(plateau.positives, [PixelPoint(x: 0.5, y: 0.5)])
        XCTAssertEqual(plateau.negatives, [])

        // Below tau everywhere: nothing, even though the whole map is one local-minimum plateau.
        let low = map(5, 4) { _, _ in 0.3 }
        for sampler in [vlSAM, localMaxima] {
            let none = sampler.sample(low)
            XCTAssertFalse(none.localised)
            XCTAssertEqual(none.positives + none.negatives, [])
        }
    }

    func testAllZeroAndEmptyMapsGiveNoPoints() {
        for strategy in SamplingStrategy.allCases {
            for empty in [map(7, 9), AttentionMap(zerosHeight: 0, width: 0)] {
                let points = PointSampler(strategy: strategy).sample(empty)
                XCTAssertFalse(points.localised, "\(strategy)")
                XCTAssertEqual(points.positives + points.negatives, [], "\(strategy)")
                XCTAssertEqual(points.candidatePixels, 0, "\(strategy)")
            }
        }
    }

    func testMaximumInTheCorner() {
        // P falls by 0.05 per step of Manhattan distance from the bottom-right corner (9, 11):
        // the corner is the only local maximum, the opposite corner (P = 0) the only minimum.
        let m = map(10, 12) { y, x in 1 - 0.05 * Float((9 - y) + (11 - x)) }
        XCTAssertEqual(vlSAM.sample(m).positives, [PixelPoint(x: 11.5, y: 9.5)])
        XCTAssertEqual(vlSAM.sample(m).negatives, [])
        let extrema = localMaxima.sample(m)
        XCTAssertEqual(extrema.positives, [PixelPoint(x: 11.5, y: 9.5)])
        XCTAssertEqual(extrema.negatives, [PixelPoint(x: 0.5, y: 0.5)])
    }

    func testSinglePixelImage() {
        for sampler in [vlSAM, localMaxima] {
            XCTAssertEqual(sampler.sample(map(1, 1) { _, _ in 0.8 }).positives, [PixelPoint(x: 0.5, y: 0.5)])
            XCTAssertEqual(sampler.sample(map(1, 1) { _, _ in 0.8 }).negatives, [])
            XCTAssertFalse(sampler.sample(map(1, 1) { _, _ in 0.2 }).localised)
        }
    }

    func testValueExactlyAtTauIsACandidate() {
        let m = map(3, 5) { y, x in y == 1 && x == 3 ? 0.5 : 0.1 }
        let points = vlSAM.sample(m)
        XCTAssertEqual(points.candidatePixels, 1)
        XCTAssertEqual(points.positives, [PixelPoint(x: 3.5, y: 1.5)])
        XCTAssertEqual(localMaxima.sample(m).positives, [PixelPoint(x: 3.5, y: 1.5)])
    }
}

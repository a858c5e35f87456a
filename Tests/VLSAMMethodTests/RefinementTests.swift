import Geometry
import VLSAMMethod
import XCTest

/// One refinement step (§9) and the mask geometry around it, on a hand-made case where the kept
/// mask cuts an attention component.
final class RefinementTests: XCTestCase {
    /// A bar on rows 3–5, columns 1–10, rising to the right: P = 0.5 + 0.04 · x.
    private let bar: AttentionMap = {
        var m = AttentionMap(zerosHeight: 10, width: 12)
        for y in 3..<6 { for x in 1..<11 { m[y, x] = 0.5 + 0.04 * Float(x) } }
        return m
    }()

    private func mask(_ rows: Range<Int>, _ cols: Range<Int>, height: Int = 10, width: Int = 12) -> [UInt8] {
        (0..<height * width).map { rows.contains($0 / width) && cols.contains($0 % width) ? 1 : 0 }
    }

    func testMaskCuttingAComponent() {
        // m = the left half: {P ≥ tau} ∩ m is the bar's columns 1–5 (15 pixels); its peak is column
        // 5, first on row 3. The best candidate outside m is column 10, row 3: the same attention
        // component, cut off by m.
        let points = Refinement.points(bar, keptMask: mask(0..<10, 0..<6))
        XCTAssertTrue(points.localised)
        XCTAssertEqual(points.positives, [PixelPoint(x: 5.5, y: 3.5)])
        XCTAssertEqual(points.negatives, [PixelPoint(x: 10.5, y: 3.5)])
        XCTAssertEqual(points.components, 1)
        XCTAssertEqual(points.positiveAreaPixels, 15)
        XCTAssertEqual(points.candidatePixels, 15)
    }

    func testMaskSplittingAComponentKeepsTheLarger() {
        // m = columns 0–2 and 5–11 minus nothing of rows 3–5 in columns 3–4: two pieces, 6 and 18
        // pixels; the larger (columns 5–10) gives the positive at its peak, column 10.
        let kept = zip(mask(0..<10, 0..<3), mask(0..<10, 5..<12)).map { $0 | $1 }
        let points = Refinement.points(bar, keptMask: kept)
        XCTAssertEqual(points.components, 2)
        XCTAssertEqual(points.positiveAreaPixels, 18)
        XCTAssertEqual(points.positives, [PixelPoint(x: 10.5, y: 3.5)])
        XCTAssertEqual(points.negatives, [PixelPoint(x: 4.5, y: 3.5)])
    }

    func testMaskMissingEveryCandidateStops() {
        let points = Refinement.points(bar, keptMask: mask(7..<10, 0..<12))
        XCTAssertFalse(points.localised)
        XCTAssertEqual(points.positives + points.negatives, [])
    }

    func testNoCandidateOutsideTheMaskMeansNoNegative() {
        let points = Refinement.points(bar, keptMask: mask(2..<7, 0..<12))
        XCTAssertEqual(points.positives, [PixelPoint(x: 10.5, y: 3.5)])
        XCTAssertEqual(points.negatives, [])
    }

    func testBoundingBoxAndIoU() {
        let a = mask(2..<5, 3..<9)  // 18 pixels
        let box = Refinement.boundingBox(of: a, height: 10, width: 12)
        XCTAssertEqual(box, PixelBox(x0: 3, y0: 2, x1: 9, y1: 5))
        XCTAssertNil(Refinement.boundingBox(of: mask(0..<0, 0..<0), height: 10, width: 12))
        let b = mask(3..<5, 3..<9)  // 12 pixels, all inside a
        XCTAssertEqual(Refinement.iou(a, b), 12.0 / 18.0)
        XCTAssertEqual(Refinement.iou(a, a), 1)
        XCTAssertFalse(Refinement.converged(previous: a, current: b))
        XCTAssertTrue(Refinement.converged(previous: a, current: a))
    }

    func testBundleMasksHaveTheirStatedBoxes() throws {
        let file = try ParityCase.bundleFile()
        for name in ["/refinement_mask", "/refinement_mask_bottom"] {
            let mask = try file.readUInt8(name)
            let box = try XCTUnwrap(Refinement.boundingBox(of: mask.values, height: mask.shape[0], width: mask.shape[1]))
            XCTAssertEqual([box.x0, box.y0, box.x1, box.y1].map { Int($0) }, try file.attributeInts("rect_xyxy", at: name), name)
        }
    }
}

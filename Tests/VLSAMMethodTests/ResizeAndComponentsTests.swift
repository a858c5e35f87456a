import TestSupport
import VLSAMMethod
import XCTest

/// The bilinear rule of §8 and the 8-connected labelling, on inputs with known answers.
final class ResizeAndComponentsTests: XCTestCase {
    func testBilinearMatchesPyTorchOnASmallCase() {
        // F.interpolate([[0, 1], [2, 3]], size=(4, 4), mode="bilinear", align_corners=False):
        // sources −0.25 (clamped to 0), 0.25, 0.75, 1.25 (both taps the last cell) per axis.
        let up = AttentionMap(height: 2, width: 2, values: [0, 1, 2, 3]).resized(height: 4, width: 4)
        XCTAssertEqual(up.values, [0, 0.25, 0.75, 1,
                                   0.5, 0.75, 1.25, 1.5,
                                   1.5, 1.75, 2.25, 2.5,
                                   2, 2.25, 2.75, 3])
    }

    func testBorderPlateausAreExactlyFlat() {
        // 8 × 8 → 1200 × 1800: src ≥ 7 (one cell read twice) from x = 1687 and from y = 1125, so the
        // right and bottom border bands are exactly flat, whatever the cell values; src < 0
        // (clamped) up to x = 112 and y = 74, and src = c exactly at x = 225c + 112.
        var generator = SeededGenerator(seed: 3)
        let grid = AttentionMap(height: 8, width: 8, values: (0..<64).map { _ in Float.random(in: 0..<1, using: &generator) })
        let p = grid.resized(height: 1200, width: 1800)
        for y in [0, 300, 601, 1199] {
            XCTAssertTrue((1687..<1800).allSatisfy { p[y, $0] == p[y, 1687] }, "right band, row \(y)")
        }
        for x in [0, 500, 1012, 1799] {
            XCTAssertTrue((1125..<1200).allSatisfy { p[$0, x] == p[1125, x] }, "bottom band, column \(x)")
        }
        XCTAssertEqual(p[1125, 1687], grid[7, 7])
        for (x, cell) in [(112, 0), (337, 1), (1012, 4)] { XCTAssertEqual(p[1150, x], grid[7, cell], "column \(x)") }
        XCTAssertEqual(p[0, 0], grid[0, 0])
        XCTAssertEqual(p[74, 112], grid[0, 0])
        XCTAssertNotEqual(p[75, 113], grid[0, 0])
    }

    func testComponentsAreEightConnectedAndNumberedByFirstPixel() {
        // . # . . # #
        // # . . . . #
        // . . # # . #
        // # . # . . .
        // A diagonal pair (0,1)-(1,0); an arm down the right edge; an L; a lone pixel.
        let rows = [".#..##", "#....#", "..##.#", "#.#..."]
        let mask = rows.flatMap { $0.map { $0 == "#" } }
        let components = ConnectedComponents(mask: mask, height: 4, width: 6)
        XCTAssertEqual(components.count, 4)
        XCTAssertEqual(components.firstPixels, [1, 4, 14, 18])
        XCTAssertEqual(components.sizes, [2, 4, 3, 1])
        XCTAssertEqual(components.largest, 1)
        XCTAssertEqual(components.runs(of: 2).map { [$0.row, $0.start, $0.end] }, [[2, 2, 4], [3, 2, 3]])
    }

    func testRunsJoiningLateMergeIntoOneComponent() {
        // Two arms that meet only on the last row: one component, numbered from the left arm.
        let rows = ["#...#", "#...#", "#####"]
        let components = ConnectedComponents(mask: rows.flatMap { $0.map { $0 == "#" } }, height: 3, width: 5)
        XCTAssertEqual(components.count, 1)
        XCTAssertEqual(components.sizes, [9])
        XCTAssertEqual(components.firstPixels, [0])
    }

    func testLargestTiesGoToTheFirstComponent() {
        let rows = ["##.##", ".....", "##..."]
        let components = ConnectedComponents(mask: rows.flatMap { $0.map { $0 == "#" } }, height: 3, width: 5)
        XCTAssertEqual(components.sizes, [2, 2, 2])
        XCTAssertEqual(components.largest, 0)
    }
}

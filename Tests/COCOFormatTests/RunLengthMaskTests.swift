import COCOFormat
import Foundation
import TestSupport
import XCTest

/// One mask of Fixtures/cases.json (written by scripts/make_coco_fixtures.py with pycocotools).
struct FixtureCase {
    let name: String
    let height: Int
    let width: Int
    /// pycocotools' compressed RLE string.
    let counts: String
    let area: Int
    let bbox: [Double]
    /// The row-major mask itself, for the cases that keep it.
    let raw: [UInt8]?
    /// A crowd annotation's original uncompressed counts.
    let uncompressedCounts: [UInt32]?

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func load() throws -> [FixtureCase] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("cases.json"))
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try XCTUnwrap(document["cases"] as? [[String: Any]])
        return try cases.map { entry in
            let height = try XCTUnwrap(entry["height"] as? Int), width = try XCTUnwrap(entry["width"] as? Int)
            var raw: [UInt8]?
            if let file = entry["raw"] as? String {
                let bits = [UInt8](try Data(contentsOf: fixtures.appendingPathComponent(file)))
                XCTAssertEqual(bits.count, (height * width + 7) / 8, file)
                raw = (0..<height * width).map { (bits[$0 >> 3] >> (7 - UInt8($0 & 7))) & 1 }
            }
            return FixtureCase(name: try XCTUnwrap(entry["name"] as? String), height: height, width: width,
                               counts: try XCTUnwrap(entry["counts"] as? String), area: try XCTUnwrap(entry["area"] as? Int),
                               bbox: try XCTUnwrap(entry["bbox"] as? [Double]), raw: raw,
                               uncompressedCounts: (entry["uncompressed_counts"] as? [Int])?.map { UInt32($0) })
        }
    }
}

final class RunLengthMaskTests: XCTestCase {
    func testFixturesCoverThePlannedCases() throws {
        let cases = try FixtureCase.load()
        XCTAssertEqual(cases.filter { $0.name.hasPrefix("coco_") }.count, 30)
        XCTAssertEqual(cases.filter { $0.name.hasPrefix("coco_crowd_") }.count, 4)
        XCTAssertGreaterThanOrEqual(cases.filter { $0.raw != nil && $0.name.hasPrefix("coco_") }.count, 5)
        XCTAssertTrue(cases.contains { $0.height == 1 && $0.width == 1 })
        XCTAssertTrue(cases.contains { $0.uncompressedCounts != nil })
    }

    /// Independent input: the raw masks, encoded here, must give pycocotools' strings byte for byte.
    func testEncodingRawMasksGivesPycocotoolsStrings() throws {
        let cases = try FixtureCase.load().filter { $0.raw != nil }
        XCTAssertGreaterThanOrEqual(cases.count, 25)
        for fixture in cases {
            let rle = RunLengthMask(mask: fixture.raw!, height: fixture.height, width: fixture.width)
            XCTAssertEqual(rle.compressedString, fixture.counts, fixture.name)
            XCTAssertEqual(Array(rle.compressedString.utf8), Array(fixture.counts.utf8), "\(fixture.name): bytes")
            XCTAssertEqual(rle.area, fixture.area, fixture.name)
            XCTAssertEqual(rle.boundingBox.xywh, fixture.bbox, fixture.name)
            XCTAssertEqual(rle.decode(), fixture.raw!, "\(fixture.name): decoding the encoding")
            XCTAssertEqual(rle.counts.reduce(0) { $0 + Int($1) }, fixture.height * fixture.width, fixture.name)
        }
    }

    /// Every string (30 COCO ground-truth masks among them) parses, decodes, and encodes back to itself.
    func testDecodingEveryPycocotoolsString() throws {
        for fixture in try FixtureCase.load() {
            let rle = try RunLengthMask(compressed: fixture.counts, height: fixture.height, width: fixture.width)
            XCTAssertEqual(rle.area, fixture.area, fixture.name)
            XCTAssertEqual(rle.boundingBox.xywh, fixture.bbox, fixture.name)
            let mask = rle.decode()
            XCTAssertEqual(mask.count, fixture.height * fixture.width, fixture.name)
            XCTAssertEqual(mask.reduce(0) { $0 + Int($1) }, fixture.area, "\(fixture.name): decoded area")
            if let raw = fixture.raw { XCTAssertEqual(mask, raw, "\(fixture.name): decoded mask") }
            let again = RunLengthMask(mask: mask, height: fixture.height, width: fixture.width)
            XCTAssertEqual(again, rle, fixture.name)
            XCTAssertEqual(again.compressedString, fixture.counts, fixture.name)
        }
    }

    /// COCO crowd annotations store plain counts; compressing them gives pycocotools' string.
    func testUncompressedCrowdCountsCompressLikePycocotools() throws {
        let crowd = try FixtureCase.load().filter { $0.uncompressedCounts != nil }
        XCTAssertEqual(crowd.count, 4)
        for fixture in crowd {
            let rle = try RunLengthMask(height: fixture.height, width: fixture.width, counts: fixture.uncompressedCounts!)
            XCTAssertEqual(rle.compressedString, fixture.counts, fixture.name)
        }
    }

    func testHandMadeConventions() throws {
        // 2 x 3, row-major [[0, 1, 1], [1, 1, 0]]: columns read (0, 1), (1, 1), (1, 0).
        let rle = RunLengthMask(mask: [0, 1, 1, 1, 1, 0], height: 2, width: 3)
        XCTAssertEqual(rle.counts, [1, 4, 1])
        XCTAssertEqual(rle.area, 4)
        XCTAssertEqual(rle.boundingBox, COCOBox(x: 0, y: 0, width: 3, height: 2))
        // Non-zero bytes other than 1 are foreground too; decoding gives 0/1.
        XCTAssertEqual(RunLengthMask(mask: [0, 255, 7, 1, 1, 0], height: 2, width: 3), rle)
        XCTAssertEqual(rle.decode(), [0, 1, 1, 1, 1, 0])
        // A foreground first pixel starts with a zero-length background run.
        XCTAssertEqual(RunLengthMask(mask: [1, 0, 0, 0], height: 2, width: 2).counts, [0, 1, 3])
        // Zero pixels: pycocotools gives one empty run, "0".
        let nothing = RunLengthMask(mask: [], height: 0, width: 5)
        XCTAssertEqual(nothing.counts, [0])
        XCTAssertEqual(nothing.compressedString, "0")
        XCTAssertEqual(try RunLengthMask(compressed: "0", height: 0, width: 5), nothing)
        XCTAssertEqual(nothing.boundingBox, COCOBox(x: 0, y: 0, width: 0, height: 0))
        XCTAssertEqual(nothing.decode(), [])
        // Slices of a larger buffer (one plane of a masks artifact) encode the same.
        let planes: [UInt8] = [9, 9, 0, 1, 1, 1, 1, 0]
        XCTAssertEqual(RunLengthMask(mask: planes[2...], height: 2, width: 3), rle)
    }

    /// Numbers of every length (1 to 5 characters, both signs) survive the string form.
    func testStringRoundTripOfLargeAndNegativeDifferences() throws {
        let counts: [UInt32] = [0, 15, 16, 511, 512, 3, 16_383, 16_384, 1, 524_287, 524_288, 7, 1_000_000, 2, 999_000, 5]
        let total = counts.reduce(0) { $0 + Int($1) }
        let rle = try RunLengthMask(height: 1, width: total, counts: counts)
        let parsed = try RunLengthMask(compressed: rle.compressedString, height: 1, width: total)
        XCTAssertEqual(parsed.counts, counts)
    }

    func testRandomMasksRoundTrip() throws {
        var generator = SeededGenerator(seed: 7)
        for trial in 0..<200 {
            let height = Int.random(in: 1...40, using: &generator), width = Int.random(in: 1...40, using: &generator)
            let density = Double.random(in: 0...1, using: &generator)
            let mask = (0..<height * width).map { _ in Double.random(in: 0..<1, using: &generator) < density ? UInt8(1) : 0 }
            let rle = RunLengthMask(mask: mask, height: height, width: width)
            XCTAssertEqual(rle.decode(), mask, "trial \(trial)")
            XCTAssertEqual(rle.area, mask.reduce(0) { $0 + Int($1) }, "trial \(trial)")
            XCTAssertEqual(try RunLengthMask(compressed: rle.compressedString, height: height, width: width), rle, "trial \(trial)")
        }
    }

    func testMalformedStringsAreRefusedWithClearErrors() {
        func error(_ string: String, _ height: Int, _ width: Int) -> RunLengthError? {
            do {
                _ = try RunLengthMask(compressed: string, height: height, width: width)
                return nil
            } catch {
                return error as? RunLengthError
            }
        }
        XCTAssertEqual(error("61 h1", 7, 9), .invalidCharacter(32, offset: 2))
        XCTAssertEqual(error("61h1p", 7, 9), .invalidCharacter(UInt8(ascii: "p"), offset: 4))
        XCTAssertEqual(error("61h", 7, 9), .truncated(offset: 2), "'h' has the continuation bit")
        XCTAssertEqual(error("d01", 4, 5), .wrongPixelCount(found: 21, height: 4, width: 5))
        XCTAssertEqual(error("", 4, 5), .wrongPixelCount(found: 0, height: 4, width: 5))
        XCTAssertEqual(error("O", 4, 5), .invalidRunLength(-1, run: 0), "a negative first run")
        XCTAssertEqual(error("oooooooo0", 4, 5), .numberTooLong(offset: 0))
        XCTAssertEqual(error("0", -1, 5), .invalidSize(height: -1, width: 5))
        XCTAssertThrowsError(try RunLengthMask(height: 2, width: 2, counts: [1, 2])) { error in
            XCTAssertEqual("\(error)", "COCO RLE runs cover 3 pixels, but a 2x2 mask has 4")
        }
        for failure in [error("61 h1", 7, 9), error("61h", 7, 9), error("O", 4, 5)] {
            XCTAssertFalse("\(failure!)".contains("\n"))
        }
        XCTAssertEqual(error("61 h1", 7, 9)?.description, "COCO RLE string has ' ' at offset 2; only '0' … 'o' (ASCII 48–111) occur")
    }

    /// A full-size 1200 x 1800 mask (two blobs, ragged edges on one) round-trips through counts and
    /// the compressed string. (Its speed, about 2 ms, is measured outside the tests.)
    func testFullSizeMaskRoundTrips() {
        let height = 1200, width = 1800
        var mask = [UInt8](repeating: 0, count: height * width)
        var generator = SeededGenerator(seed: 11)
        for y in 0..<height {
            for x in 0..<width {
                let inEllipse = pow(Double(x - 600) / 400, 2) + pow(Double(y - 500) / 300, 2) <= 1
                let inBox = (1300..<1700).contains(x) && (200..<1100).contains(y)
                let ragged = inBox && (x < 1320 || y < 220) && Bool.random(using: &generator)
                if inEllipse || (inBox && !ragged) { mask[y * width + x] = 1 }
            }
        }
        let rle = RunLengthMask(mask: mask, height: height, width: width)
        XCTAssertEqual(rle.decode(), mask)
        XCTAssertEqual(try RunLengthMask(compressed: rle.compressedString, height: height, width: width), rle)
    }
}

import Foundation
import Imaging
import TestSupport
import XCTest

/// The corpus of `scripts/make_bad_inputs.py`: every file decodes to what Pillow makes of it
/// (upright, RGB) or is refused with the expected kind of one-line error.
final class BadInputCorpusTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/bad-input/images").path

    struct Case: Decodable {
        let file: String
        let outcome: String
        let width: Int?
        let height: Int?
        let rgb: String?
        let tolerance: Int?
        let kind: String?
        let mentions: [String]?
    }

    static let kinds: [String: ImageError.Kind] = [
        "empty": .empty, "notAnImage": .notAnImage, "corrupt": .corrupt, "unsupported": .unsupported, "tooLarge": .tooLarge,
    ]

    func cases() throws -> [Case] {
        let manifest = try Data(contentsOf: URL(fileURLWithPath: Self.folder + "/manifest.json"))
        return try JSONDecoder().decode([Case].self, from: manifest)
    }

    func testEveryCaseHasItsOutcome() throws {
        let all = try cases()
        XCTAssertEqual(all.count, 71, "the script writes 71 cases")
        for item in all {
            let path = Self.folder + "/" + item.file
            if item.outcome == "decodes" {
                let image: RGBImage
                do { image = try decodeImage(atPath: path) } catch {
                    XCTFail("\(item.file): \(error)")
                    continue
                }
                let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.folder + "/" + XCTUnwrap(item.rgb))))
                XCTAssertEqual(image.width, item.width, item.file)
                XCTAssertEqual(image.height, item.height, item.file)
                guard image.pixels.count == expected.count else {
                    XCTFail("\(item.file): \(image.pixels.count) samples, expected \(expected.count)")
                    continue
                }
                let worst = zip(image.pixels, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, try XCTUnwrap(item.tolerance), "\(item.file): largest difference from the reference")
            } else {
                let kind = try XCTUnwrap(Self.kinds[item.kind ?? ""], "\(item.file): unknown kind \(item.kind ?? "")")
                for fragment in item.mentions ?? [] {
                    assertImageError(try decodeImage(atPath: path), path: path, kind: kind, mentioning: fragment)
                }
            }
        }
    }

    /// Every proper prefix of a valid file is an error, never a crash or a half-grey image: cut
    /// at each of the first 64 bytes and the last 8, and every 5th byte between.
    func testEveryTruncationIsAnError() throws {
        let directory = scratchDirectory()
        for name in ["exif-orientation-6.jpg", "progressive.jpg", "cmyk-adobe.jpg", "exif-orientation-6.png", "palette-trns.png",
                     "interlaced.png"] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.folder + "/" + name))
            let path = directory + "/cut-" + name
            var kinds: [ImageError.Kind: Int] = [:]
            let cuts = (1..<bytes.count).filter { $0 < 64 || $0 % 5 == 0 || $0 >= bytes.count - 8 }
            for length in cuts {
                try bytes.prefix(length).write(to: URL(fileURLWithPath: path))
                do {
                    let image = try decodeImage(atPath: path)
                    XCTFail("\(name) cut to \(length) of \(bytes.count) bytes decoded as \(image.width)x\(image.height)")
                } catch let error as ImageError {
                    kinds[error.kind, default: 0] += 1
                    XCTAssertTrue("\(error)".hasPrefix(path + ": ") && !"\(error)".contains("\n"), "\(error)")
                }
            }
            XCTAssertEqual(kinds.keys.filter { $0 != .corrupt && $0 != .notAnImage }, [], "\(name): \(kinds)")
            XCTAssertEqual(kinds.values.reduce(0, +), cuts.count, name)
            XCTAssertGreaterThan(kinds[.corrupt] ?? 0, cuts.count - 10, "\(name): past the magic bytes every cut is corrupt")
        }
    }

    /// A 24 x 16 photo has 384 pixels: the limit refuses it at 383 and lets it through at 384,
    /// given per call or set for the process (what `--max-pixels` does).
    func testPixelLimitIsAdjustable() throws {
        let path = Self.folder + "/exif-orientation-6.jpg"
        assertImageError(try decodeImage(atPath: path, maxPixels: 383), path: path, kind: .tooLarge,
                         mentioning: "24x16 (384 pixels) exceed the limit of 383 pixels")
        XCTAssertEqual(try decodeImage(atPath: path, maxPixels: 384).width, 16)

        XCTAssertEqual(decodePixelLimit(), 100_000_000)
        setDecodePixelLimit(383)
        defer { setDecodePixelLimit(defaultMaxDecodedPixels) }
        assertImageError(try decodeImage(atPath: path), path: path, kind: .tooLarge, mentioning: "--max-pixels")
        setDecodePixelLimit(384)
        XCTAssertEqual(try decodeImage(atPath: path).height, 24)
    }
}

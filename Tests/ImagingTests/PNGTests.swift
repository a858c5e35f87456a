import Foundation
import Imaging
import TestSupport
import XCTest

final class PNGTests: XCTestCase {
    func testGrayRoundTrip() throws {
        let width = 37, height = 11
        let gray = (0..<width * height).map { UInt8(($0 * 7) % 256) }
        let path = scratchDirectory() + "/gray.png"
        try writePNG(gray: gray, width: width, height: height, to: path)
        let decoded = try decodeImage(atPath: path)
        XCTAssertEqual(decoded.width, width)
        XCTAssertEqual(decoded.height, height)
        XCTAssertEqual(decoded.pixels, gray.flatMap { [$0, $0, $0] })
    }

    func testRGBRoundTripReplacesExistingFile() throws {
        let width = 64, height = 48
        var generator = SystemRandomNumberGenerator()
        let image = RGBImage(width: width, height: height,
                             pixels: (0..<width * height * 3).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let path = scratchDirectory() + "/overlay.png"
        try "old contents".write(toFile: path, atomically: false, encoding: .utf8)
        try writePNG(image, to: path)
        XCTAssertEqual(try decodeImage(atPath: path), image)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
            .filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "the temporary file must be renamed away")
    }

    func testMaskIsWrittenAs0And255() throws {
        let mask: [UInt8] = [0, 1, 1, 0, 0, 1]
        let path = scratchDirectory() + "/mask.png"
        try writeMaskPNG(mask, width: 3, height: 2, to: path)
        XCTAssertEqual(try decodeImage(atPath: path).pixels, [0, 255, 255, 0, 0, 255].flatMap { [$0, $0, $0] })
    }

    func testWriteErrors() throws {
        let directory = scratchDirectory()
        let wrongCount = directory + "/wrong.png"
        assertImageError(try writePNG(gray: [1, 2, 3], width: 2, height: 2, to: wrongCount), path: wrongCount, kind: .invalidInput)
        let noDirectory = directory + "/no/such/dir/mask.png"
        assertImageError(try writeMaskPNG([0, 1], width: 2, height: 1, to: noDirectory), path: noDirectory, kind: .writeFailed)
    }

    // MARK: Colour types and bit depths (hand-built fixtures)

    func testGrayAlphaDropsAlpha() throws {
        let rows: [[UInt8]] = [[10, 255, 20, 0, 30, 128], [40, 1, 50, 2, 60, 3]]  // (gray, alpha) pairs
        try assertDecodes(HandBuiltPNG.make(width: 3, height: 2, bitDepth: 8, colorType: .grayAlpha, rows: rows),
                          width: 3, height: 2, to: [10, 20, 30, 40, 50, 60].flatMap { [$0, $0, $0] })
    }

    func testRGBADropsAlpha() throws {
        let rows: [[UInt8]] = [[1, 2, 3, 0, 4, 5, 6, 255], [7, 8, 9, 100, 10, 11, 12, 50]]
        try assertDecodes(HandBuiltPNG.make(width: 2, height: 2, bitDepth: 8, colorType: .rgba, rows: rows),
                          width: 2, height: 2, to: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    }

    func testPaletteWithTransparency() throws {
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255]
        let png = HandBuiltPNG.make(width: 3, height: 1, bitDepth: 8, colorType: .palette, rows: [[2, 0, 1]],
                                    ancillary: [("PLTE", palette), ("tRNS", [0, 128])])
        try assertDecodes(png, width: 3, height: 1, to: [0, 0, 255, 255, 0, 0, 0, 255, 0])
    }

    func testTwoBitPalette() throws {
        // Indices 3, 2, 1, 0, 1 packed four to a byte, most significant bits first.
        let palette: [UInt8] = [0, 0, 0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
        let png = HandBuiltPNG.make(width: 5, height: 1, bitDepth: 2, colorType: .palette,
                                    rows: [[0b11_10_01_00, 0b01_00_00_00]], ancillary: [("PLTE", palette)])
        try assertDecodes(png, width: 5, height: 1, to: [70, 80, 90, 40, 50, 60, 10, 20, 30, 0, 0, 0, 10, 20, 30])
    }

    func testOneBitGrayExpandsTo0And255() throws {
        let png = HandBuiltPNG.make(width: 10, height: 1, bitDepth: 1, colorType: .gray, rows: [[0b1011_0001, 0b1000_0000]])
        let bits: [UInt8] = [1, 0, 1, 1, 0, 0, 0, 1, 1, 0]
        try assertDecodes(png, width: 10, height: 1, to: bits.flatMap { [$0 * 255, $0 * 255, $0 * 255] })
    }

    /// The high byte, as Pillow (16-bit RGB) and OpenCV keep it; 0x80FF would round up to 0x81.
    func testSixteenBitKeepsTheHighByte() throws {
        let samples: [UInt16] = [0, 65535, 0x80FF, 4660, 1000, 40000]
        let scaled: [UInt8] = [0, 255, 0x80, 0x12, 0x03, 0x9C]
        let bytes = samples.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }

        let gray = HandBuiltPNG.make(width: 3, height: 2, bitDepth: 16, colorType: .gray, rows: [Array(bytes[0..<6]), Array(bytes[6..<12])])
        try assertDecodes(gray, width: 3, height: 2, to: scaled.flatMap { [$0, $0, $0] })

        // One RGBA pixel per row: RGB = samples 0-2 / 3-5, alpha 0x1234 dropped.
        let alpha: [UInt8] = [0x12, 0x34]
        let rgba = HandBuiltPNG.make(width: 1, height: 2, bitDepth: 16, colorType: .rgba,
                                     rows: [Array(bytes[0..<6]) + alpha, Array(bytes[6..<12]) + alpha])
        try assertDecodes(rgba, width: 1, height: 2, to: scaled)
    }

    func testAdam7Interlaced() throws {
        let width = 5, height = 5
        let rows = (0..<height).map { y in (0..<width * 3).map { UInt8(y * 40 + $0) } }
        let png = HandBuiltPNG.make(width: width, height: height, bitDepth: 8, colorType: .rgb, rows: rows, adam7: true)
        try assertDecodes(png, width: width, height: height, to: rows.flatMap { $0 })
    }

    // MARK: Damaged files

    func testTruncatedPNG() throws {
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<64 * 64 * 3).map { _ in UInt8.random(in: 0...255, using: &generator) }  // incompressible
        let image = RGBImage(width: 64, height: 64, pixels: noise)
        let directory = scratchDirectory()
        let whole = directory + "/whole.png", half = directory + "/half.png"
        try writePNG(image, to: whole)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: half))
        assertImageError(try decodeImage(atPath: half), path: half, kind: .corrupt, mentioning: "truncated")
    }

    func testCorruptedPNGData() throws {
        var png = HandBuiltPNG.make(width: 2, height: 1, bitDepth: 8, colorType: .gray, rows: [[1, 2]])
        png[png.count - 12 - 4 - 1] ^= 0xFF  // last IDAT data byte (zlib checksum), before the CRC and IEND
        let path = scratchDirectory() + "/crc.png"
        try Data(png).write(to: URL(fileURLWithPath: path))
        assertImageError(try decodeImage(atPath: path), path: path, kind: .corrupt)
    }

    private func assertDecodes(_ png: [UInt8], width: Int, height: Int, to expected: [UInt8],
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let path = scratchDirectory() + "/fixture-\(line).png"
        try Data(png).write(to: URL(fileURLWithPath: path))
        let image = try decodeImage(atPath: path)
        XCTAssertEqual(image.width, width, file: file, line: line)
        XCTAssertEqual(image.height, height, file: file, line: line)
        XCTAssertEqual(image.pixels, expected, file: file, line: line)
    }
}

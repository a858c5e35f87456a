import Artifacts
import Foundation
import Imaging
import TestSupport
import XCTest

final class ImageDecodingTests: XCTestCase {
    func testSampleJPEGSizes() throws {
        // Sizes as reported by `file` for the four sample photos.
        let expected = ["truck.jpg": (1800, 1200), "dog.jpg": (800, 534), "dogs.jpg": (1072, 603), "groceries.jpg": (800, 534)]
        for (name, size) in expected {
            guard let path = sharedPath("data/samples/\(name)") else { throw XCTSkip(missingShared("data/samples/\(name)")) }
            let image = try decodeImage(atPath: path)
            XCTAssertEqual(image.width, size.0, name)
            XCTAssertEqual(image.height, size.1, name)
            XCTAssertEqual(image.pixels.count, size.0 * size.1 * 3, name)
            XCTAssertGreaterThan(Set(image.pixels).count, 200, "\(name) should be a real photo, not a flat fill")
        }
    }

    /// The reference decoded truck.jpg with libjpeg-turbo 3.2 through Pillow; other libjpeg
    /// versions may round the IDCT / upsampling differently by a few levels.
    func testTruckMatchesReferenceDecode() throws {
        let relative = "parity/efficientsam-vitt/parity.h5"
        guard let parity = sharedPath(relative), let jpeg = sharedPath("parity/efficientsam-vitt/image.jpg") else {
            throw XCTSkip(missingShared(relative))
        }
        let reference = try HDF5File(readingAt: parity).readUInt8("image/rgb_u8")
        let image = try decodeImage(atPath: jpeg)
        XCTAssertEqual(reference.shape, [image.height, image.width, 3])
        var maxDiff = 0, sumDiff = 0, differing = 0
        for (mine, theirs) in zip(image.pixels, reference.values) {
            let diff = abs(Int(mine) - Int(theirs))
            maxDiff = max(maxDiff, diff)
            sumDiff += diff
            if diff != 0 { differing += 1 }
        }
        let meanDiff = Double(sumDiff) / Double(reference.values.count)
        print("truck.jpg vs reference decode: max diff \(maxDiff), mean diff \(meanDiff), \(differing) of \(reference.values.count) values differ")
        XCTAssertLessThanOrEqual(maxDiff, 8)
        XCTAssertLessThan(meanDiff, 0.5)
    }

    /// 16x8 flat JPEGs written with libjpeg at quality 100 (flat blocks survive exactly):
    /// gray level 100, and Adobe-style inverted CMYK samples (255, 127, 0, 255), i.e.
    /// C = 0, M = 128, Y = 255, K = 0 → RGB (255, 127, 0).
    func testGrayAndCMYKJPEGBecomeRGB() throws {
        let gray = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAAIABABAREA/8QAFQABAQAAAAAAAAAAAAAAAAAAAAj/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/9oACAEBAAA/AIfH/9k="
        let cmyk = "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwABAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB/8AAFAgACAAQBEMRAE0RAFkRAEsRAP/EABcAAQEBAQAAAAAAAAAAAAAAAAAKBAv/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/9oADgRDAE0AWQBLAAA/AL+Gdz/1/AA//9k="
        let directory = scratchDirectory()
        for (name, base64, rgb) in [("gray", gray, [UInt8](repeating: 100, count: 3)), ("cmyk", cmyk, [255, 127, 0])] {
            let path = directory + "/\(name).jpg"
            try Data(base64Encoded: base64)!.write(to: URL(fileURLWithPath: path))
            let image = try decodeImage(atPath: path)
            XCTAssertEqual(image.width, 16, name)
            XCTAssertEqual(image.height, 8, name)
            XCTAssertEqual(image.pixels, [UInt8]((0..<128).flatMap { _ in rgb }), name)
        }
    }

    func testMissingFile() throws {
        let path = scratchDirectory() + "/does-not-exist.jpg"
        assertImageError(try decodeImage(atPath: path), path: path, kind: .missing)
    }

    func testZeroByteFile() throws {
        let path = scratchDirectory() + "/empty.jpg"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        assertImageError(try decodeImage(atPath: path), path: path, kind: .empty)
    }

    func testDirectoryIsRejected() throws {
        let path = scratchDirectory()
        assertImageError(try decodeImage(atPath: path), path: path, kind: .unreadable)
    }

    func testTextFileNamedJPEG() throws {
        let path = scratchDirectory() + "/notes.jpg"
        try "this is not a picture\n".write(toFile: path, atomically: true, encoding: .utf8)
        assertImageError(try decodeImage(atPath: path), path: path, kind: .notAnImage, mentioning: "not a JPEG or PNG")
    }

    func testTruncatedJPEG() throws {
        guard let truck = sharedPath("data/samples/truck.jpg") else { throw XCTSkip(missingShared("data/samples/truck.jpg")) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: truck))
        let path = scratchDirectory() + "/half-truck.jpg"
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        assertImageError(try decodeImage(atPath: path), path: path, kind: .corrupt, mentioning: "Premature end")
    }

    func testJPEGHeaderOnly() throws {
        let path = scratchDirectory() + "/header.jpg"
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00]).write(to: URL(fileURLWithPath: path))
        assertImageError(try decodeImage(atPath: path), path: path, kind: .corrupt)
    }

    func testAbsurdDimensionsAreRefused() throws {
        guard let truck = sharedPath("data/samples/truck.jpg") else { throw XCTSkip(missingShared("data/samples/truck.jpg")) }
        assertImageError(try decodeImage(atPath: truck, maxPixels: 1_000_000), path: truck, kind: .tooLarge,
                         mentioning: "1800x1200")

        // A well-formed PNG whose header claims 1,000,000 x 1,000,000 pixels but holds no data.
        let path = scratchDirectory() + "/huge.png"
        let png = HandBuiltPNG.make(width: 1_000_000, height: 1_000_000, bitDepth: 8, colorType: .rgb, rows: [])
        try Data(png).write(to: URL(fileURLWithPath: path))
        assertImageError(try decodeImage(atPath: path), path: path, kind: .tooLarge)
    }
}

/// Checks that `expression` throws an `ImageError` of `kind` whose one-line message names `path`.
func assertImageError<T>(_ expression: @autoclosure () throws -> T, path: String, kind: ImageError.Kind,
                         mentioning fragment: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try expression(), "\(path) should be refused", file: file, line: line) { error in
        guard let imageError = error as? ImageError else {
            return XCTFail("expected ImageError, got \(type(of: error)): \(error)", file: file, line: line)
        }
        let message = "\(imageError)"
        XCTAssertEqual(imageError.kind, kind, message, file: file, line: line)
        XCTAssertTrue(message.hasPrefix(path + ": "), message, file: file, line: line)
        XCTAssertFalse(message.contains("\n"), message, file: file, line: line)
        if let fragment {
            XCTAssertTrue(message.contains(fragment), "'\(message)' should mention '\(fragment)'", file: file, line: line)
        }
    }
}

import Artifacts
import Imaging
import TestSupport
import XCTest

/// Pillow's LANCZOS (and BICUBIC) through the shared fixed-point resampler.
final class LanczosResizeTests: XCTestCase {
    /// A one-row grey image (R = G = B) from the given levels.
    private func greyRow(_ levels: [UInt8]) -> RGBImage {
        RGBImage(width: levels.count, height: 1, pixels: levels.flatMap { [$0, $0, $0] })
    }

    private func redChannel(_ image: RGBImage) -> [UInt8] {
        stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] }
    }

    /// Upscaling 2 → 4: centres 0.25, 0.75, 1.25, 1.75, both inputs in reach. For output 1 the
    /// normalised weights are L(−0.25) and L(0.75) over their sum, 0.767129 and 0.232871, so
    /// 255·0.232871 + ½ = 59.88 → 59; output 0 has a negative far weight (−0.175478) and clips
    /// to 0; the other two mirror these.
    func testLanczosUpscaleOfAnEdgeOvershootsAndClips() {
        let resized = resizePIL(greyRow([0, 255]), width: 4, height: 1, filter: .lanczos)
        XCTAssertEqual(redChannel(resized), [0, 59, 196, 255])
        XCTAssertEqual(resized.pixels, [0, 0, 0, 59, 59, 59, 196, 196, 196, 255, 255, 255])
    }

    /// Keys a = −0.5: B(0.25) = 0.8671875, B(0.75) = 0.2265625, B(1.25) = −0.0703125.
    /// Output 1: 0.2265625 / 1.09375 = 0.207143 → 255·0.207143 + ½ = 53.32 → 53.
    func testBicubicUpscaleOfAnEdge() {
        let resized = resizePIL(greyRow([0, 255]), width: 4, height: 1, filter: .bicubic)
        XCTAssertEqual(redChannel(resized), [0, 53, 202, 255])
    }

    /// Downscaling by 2 widens the support to 6 input pixels: the middle output of a step
    /// 0,0,0,255,255,255 uses weights −0.064665, 0.131494, 0.433171 (and mirrored), so it is
    /// 255·½ + ½ = 128; the outer outputs land on 0 and 255 after clipping.
    func testLanczosDownscaleWidensTheSupport() {
        let resized = resizePIL(greyRow([0, 0, 0, 255, 255, 255]), width: 3, height: 1, filter: .lanczos)
        XCTAssertEqual(redChannel(resized), [0, 128, 255])
        // Halving two pixels averages them with equal weights 2^21: (10 + 21)/2 + ½ = 16.
        XCTAssertEqual(redChannel(resizePIL(greyRow([10, 21]), width: 1, height: 1, filter: .lanczos)), [16])
    }

    /// Vertical only: the same taps as horizontally, applied down a column.
    func testVerticalPassMatchesHorizontalPass() {
        let column = RGBImage(width: 1, height: 2, pixels: [0, 0, 0, 255, 255, 255])
        XCTAssertEqual(redChannel(resizePIL(column, width: 1, height: 4, filter: .lanczos)), [0, 59, 196, 255])
    }

    func testSameSizeIsIdentityAndFlatImagesStayFlat() {
        let pixels = (0..<5 * 4 * 3).map { UInt8(($0 * 37) % 256) }
        let image = RGBImage(width: 5, height: 4, pixels: pixels)
        for filter in PILResampleFilter.allCases {
            XCTAssertEqual(resizePIL(image, width: 5, height: 4, filter: filter), image, "\(filter)")
            for level: UInt8 in [0, 1, 128, 254, 255] {
                let flat = RGBImage(width: 7, height: 5, pixels: [UInt8](repeating: level, count: 7 * 5 * 3))
                for (width, height) in [(3, 2), (19, 13), (7, 11)] {
                    let resized = resizePIL(flat, width: width, height: height, filter: filter)
                    XCTAssertEqual(Set(resized.pixels), [level], "\(filter) level \(level) → \(width)x\(height)")
                }
            }
        }
    }

    func testPillowResampleCodes() {
        XCTAssertEqual(PILResampleFilter(pillowCode: 1), .lanczos)
        XCTAssertEqual(PILResampleFilter(pillowCode: 2), .bilinear)
        XCTAssertEqual(PILResampleFilter(pillowCode: 3), .bicubic)
        for unsupported in [0, 4, 5, -1, 6] { XCTAssertNil(PILResampleFilter(pillowCode: unsupported)) }
    }

    // MARK: - Pillow parity on the SmolVLM reference tiles

    private let smolVLM = "parity/smolvlm-tiny/parity.h5"
    private let truck = "data/samples/truck.jpg"

    private func referenceInputs() throws -> (image: RGBImage, file: HDF5File) {
        guard let h5 = sharedPath(smolVLM) else { throw XCTSkip(missingShared(smolVLM)) }
        guard let jpeg = sharedPath(truck) else { throw XCTSkip(missingShared(truck)) }
        return (try decodeImage(atPath: jpeg), try HDF5File(readingAt: h5))
    }

    /// The reference tile `index` of `group` (CHW) as an HWC image.
    private func referenceTile(_ file: HDF5File, _ group: String, _ index: Int) throws -> RGBImage {
        let (shape, values) = try file.readUInt8("\(group)/pixel_values_uint8")
        XCTAssertEqual(Array(shape.suffix(3)), [3, 512, 512])
        let plane = 512 * 512, base = index * 3 * plane
        var hwc = [UInt8](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 { hwc[i * 3 + c] = values[base + c * plane + i] }
        }
        return RGBImage(width: 512, height: 512, pixels: hwc)
    }

    private func differingSamples(_ a: RGBImage, _ b: RGBImage) -> Int {
        XCTAssertEqual(a.pixels.count, b.pixels.count)
        return zip(a.pixels, b.pixels).filter { $0 != $1 }.count
    }

    /// Upscale 1800x1200 → 2048x1366 (both passes widen nothing), then downscale to 512x512
    /// (support ×4 horizontally, ×2.67 vertically): the split-off tile, exactly.
    func testLanczosChainReproducesSquashedTile() throws {
        let (image, file) = try referenceInputs()
        let resized = resizePIL(image, width: 2048, height: 1366, filter: .lanczos)
        let tile = resizePIL(resized, width: 512, height: 512, filter: .lanczos)
        XCTAssertEqual(differingSamples(tile, try referenceTile(file, "split_off", 0)), 0)
    }

    /// 2048x1366 → 2048x1536 skips the horizontal pass; the first crop and the global tile
    /// (a third resize, 2048x1536 → 512x512) must match exactly.
    func testVerticalOnlyResizeReproducesCropAndGlobalTile() throws {
        let (image, file) = try referenceInputs()
        let encoderImage = resizePIL(resizePIL(image, width: 2048, height: 1366, filter: .lanczos),
                                     width: 2048, height: 1536, filter: .lanczos)
        var crop = [UInt8](repeating: 0, count: 512 * 512 * 3)
        for y in 0..<512 {
            crop[y * 512 * 3 ..< (y + 1) * 512 * 3] = encoderImage.pixels[y * 2048 * 3 ..< (y * 2048 + 512) * 3]
        }
        XCTAssertEqual(differingSamples(RGBImage(width: 512, height: 512, pixels: crop),
                                        try referenceTile(file, "split_on", 0)), 0, "crop row 0 col 0")
        let global = resizePIL(encoderImage, width: 512, height: 512, filter: .lanczos)
        XCTAssertEqual(differingSamples(global, try referenceTile(file, "split_on", 12)), 0, "global tile")
    }
}

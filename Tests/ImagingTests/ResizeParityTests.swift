import Artifacts
import Imaging
import TensorMath
import TestSupport
import XCTest

final class ResizeParityTests: XCTestCase {
    private let efficientSAM = "parity/efficientsam-vitt/parity.h5"
    private let samSmall = "parity/sam-small/parity.h5"

    private func open(_ relative: String) throws -> HDF5File {
        guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
        return try HDF5File(readingAt: path)
    }

    private func referenceImage() throws -> RGBImage {
        let (shape, values) = try open(efficientSAM).readUInt8("image/rgb_u8")
        XCTAssertEqual(shape, [1200, 1800, 3])
        return RGBImage(width: shape[1], height: shape[0], pixels: values)
    }

    func testPILBilinearReproducesResizeLongestSide() throws {
        let image = try referenceImage()
        let reference = try open(samSmall).readUInt8("image/resized_u8")
        XCTAssertEqual(reference.shape, [683, 1024, 3])
        let resized = resizePILBilinear(image, width: 1024, height: 683)
        let differing = zip(resized.pixels, reference.values).filter { $0 != $1 }.count
        XCTAssertEqual(resized.pixels.count, reference.values.count)
        XCTAssertEqual(differing, 0)
    }

    /// EfficientSAM preprocessing: /255, stretch to 1024x1024 (bilinear, no antialias), normalise.
    func testBilinearPreprocessingMatchesEfficientSAM() throws {
        let file = try open(efficientSAM)
        let image = try referenceImage()
        let reference = try file.readTensor("image/input_preprocessed")
        let plane = image.width * image.height
        let chw = Tensor(shape: [3, image.height, image.width]) { out in
            for i in 0..<plane {
                for c in 0..<3 { out[c * plane + i] = Float(image.pixels[i * 3 + c]) / 255 }
            }
        }
        var resized = resizeBilinear(chw, height: 1024, width: 1024)
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        for c in 0..<3 {
            for i in c * 1024 * 1024 ..< (c + 1) * 1024 * 1024 { resized.data[i] = (resized.data[i] - mean[c]) / std[c] }
        }
        assertClose(resized, reference, .relative(1e-5), "input_preprocessed")
    }

    /// EfficientSAM postprocessing: bicubic straight from 256x256 to 1200x1800, mask = logits ≥ 0.
    func testBicubicUpsamplingMatchesEfficientSAM() throws {
        let file = try open(efficientSAM)
        let lowres = try file.readTensor("cases/case0_point/lowres_logits")
        let reference = try file.readTensor("cases/case0_point/upsampled_logits_best")
        let referenceMask = try file.readUInt8("cases/case0_point/mask_best").values
        let upsampled = resizeBicubic(lowres[1], height: 1200, width: 1800)
        assertClose(upsampled, reference, .relative(1e-4), "upsampled_logits_best")

        let unstable = 1e-3 * reference.data.map(abs).max()!
        var flipped = 0, flippedOnStablePixels = 0
        for i in 0..<upsampled.count where (upsampled.data[i] >= 0 ? 1 : 0) != referenceMask[i] {
            flipped += 1
            if abs(reference.data[i]) >= unstable { flippedOnStablePixels += 1 }
        }
        print("mask_best: \(flipped) pixels differ, \(flippedOnStablePixels) of them outside |ref| < 1e-3·max")
        XCTAssertEqual(flippedOnStablePixels, 0)
    }

    /// SAM postprocessing: bilinear to 1024x1024, crop to 683x1024, bilinear to 1200x1800, mask = logits > 0.
    func testSAMPostprocessingMatchesMasks() throws {
        let file = try open(samSmall)
        var counts: [String] = []
        for name in try file.members(ofGroup: "cases").sorted() {
            let lowres = try file.readTensor("cases/\(name)/lowres_logits")
            let (maskShape, masks) = try file.readUInt8("cases/\(name)/masks")
            let logits = resizeBilinear(crop(resizeBilinear(lowres, height: 1024, width: 1024), height: 683, width: 1024),
                                        height: 1200, width: 1800)
            XCTAssertEqual(logits.shape, maskShape, name)
            let perMask = 1200 * 1800
            for m in 0..<maskShape[0] {
                var differing = 0
                for i in m * perMask ..< (m + 1) * perMask where (logits.data[i] > 0 ? 1 : 0) != masks[i] { differing += 1 }
                counts.append("\(name)[\(m)]: \(differing)")
                XCTAssertLessThanOrEqual(differing, 50, "\(name) mask \(m)")
            }
        }
        print("SAM postprocess differing mask pixels: " + counts.joined(separator: ", "))
        XCTAssertEqual(counts.count, 6, "3 masks for case 1 and one for each of cases 2-4")
    }
}

final class ResizeTests: XCTestCase {
    /// Hand-computed PyTorch values: scale 0.5, sources −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped index).
    func testBilinearUpscaleOfTwoPixels() {
        let x = Tensor(shape: [1, 1, 2], data: [0, 1])
        XCTAssertEqual(resizeBilinear(x, height: 1, width: 4).data, [0, 0.25, 0.75, 1])
    }

    /// First output: source −0.25 → floor −1, t = 0.75, taps at −2…1 clamped to 0,0,0,1, so the
    /// value is the far weight W(1.25) = ((A·1.25 − 5A)·1.25 + 8A)·1.25 − 4A with A = −0.75.
    func testBicubicUsesKeysKernelWithAMinus075() {
        let x = Tensor(shape: [1, 1, 2], data: [0, 1])
        let y = resizeBicubic(x, height: 1, width: 4)
        XCTAssertEqual(y.data[0], -0.10546875, accuracy: 1e-7)
        XCTAssertEqual(y.data[3], 1.10546875, accuracy: 1e-7)
    }

    func testSameSizeIsIdentityAndHeightOnlyResize() {
        let x = Tensor(shape: [2, 3, 4], data: (0..<24).map(Float.init))
        XCTAssertEqual(resizeBilinear(x, height: 3, width: 4), x)
        XCTAssertEqual(resizeBicubic(x, height: 3, width: 4), x)
        // Height 3 → 2, width kept: scale 1.5, source rows 0.25 and 1.75, i.e.
        // 0.75·row0 + 0.25·row1 and 0.25·row1 + 0.75·row2.
        let shorter = resizeBilinear(x, height: 2, width: 4)
        XCTAssertEqual(shorter.shape, [2, 2, 4])
        XCTAssertEqual(Array(shorter.data[0..<8]), [1, 2, 3, 4, 7, 8, 9, 10])
    }

    func testCropKeepsTopLeftOfEveryPlane() {
        let x = Tensor(shape: [2, 3, 4], data: (0..<24).map(Float.init))
        let y = crop(x, height: 2, width: 3)
        XCTAssertEqual(y.shape, [2, 2, 3])
        XCTAssertEqual(y.data, [0, 1, 2, 4, 5, 6, 12, 13, 14, 16, 17, 18])
    }
}

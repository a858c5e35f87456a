import Artifacts
import Geometry
import Imaging
import SAMModels
import TensorMath
import TestSupport
import XCTest

/// Tensor-by-tensor parity with ../shared/parity/efficientsam-vitt (upstream EfficientSAM ViT-T
/// with seeded random weights), through the real `.pt` loader.
final class EfficientSAMParityTests: XCTestCase {
    func fixture() throws -> EncodedBundle {
        try EncodedBundle.load("efficientsam-vitt", checkpoint: "weights.pt")
    }

    static let cases = ["case0_point", "case1_points", "case2_box"]

    func testArchitectureDetected() throws {
        let f = try fixture()
        XCTAssertEqual(f.model.name, "efficientsam_vitt")
        XCTAssertEqual(f.model.family, .efficientSAM)
        XCTAssertEqual(f.model.encoder.config.depth, 12)
        XCTAssertEqual(f.model.encoder.config.heads, 3)
        XCTAssertEqual(f.geometry.originalSize.height, 1200)
        XCTAssertEqual(f.geometry.originalSize.width, 1800)
    }

    func testEncoderIntermediates() throws {
        let f = try fixture()
        let r = f.reference
        assertClose(f.trace["input_preprocessed"]!, try r.readTensor("image/input_preprocessed"), .relative(1e-5), "input_preprocessed")
        assertClose(f.trace["pos_embed"]!, try r.readTensor("encoder/pos_embed_interp"), .relative(1e-5), "pos_embed_interp")
        assertClose(f.trace["patch_embed_out"]!, try r.readTensor("encoder/patch_embed_out"), .relative(1e-5), "patch_embed_out")
        assertClose(f.trace["block00_out"]!, try r.readTensor("encoder/block00_out"), .relative(1e-4), "block00_out")
        assertClose(f.trace["block11_out"]!, try r.readTensor("encoder/block11_out"), .relative(1e-4), "block11_out")
        assertClose(f.embedding, try r.readTensor("encoder/image_embedding"), .relative(1e-4), "image_embedding")
        assertClose(f.model.densePE, try r.readTensor("prompt_encoder/dense_pe"), .relative(1e-5), "dense_pe")
    }

    func prompt(_ r: HDF5File, _ name: String) throws -> PromptSet {
        let points = try r.points("cases/\(name)/points_xy")
        let labels = try r.readInt32("cases/\(name)/labels").values
        if labels == [2, 3] {
            return PromptSet(box: PixelBox(x0: points[0].x, y0: points[0].y, x1: points[1].x, y1: points[1].y))
        }
        return PromptSet(points: points, labels: labels)
    }

    func testPromptsAndDecoderFromStoredEmbedding() throws {
        let f = try fixture()
        let r = f.reference
        let storedEmbedding = try r.readTensor("encoder/image_embedding")
        for name in Self.cases {
            let input = f.model.modelInput(for: try prompt(r, name), geometry: f.geometry)
            let refPoints = try r.points("cases/\(name)/points_rescaled_padded")
            XCTAssertEqual(input.labels, try r.readInt32("cases/\(name)/labels_padded").values, name)
            assertClose(input.points.flatMap { [$0.x, $0.y] }, refPoints.flatMap { [$0.x, $0.y] }, .absolute(1e-4),
                        "\(name) points_rescaled_padded")
            assertClose(f.model.promptEncoder.sparseEmbedding(input), try r.readTensor("cases/\(name)/sparse_embedding"),
                        .relative(1e-5), "\(name) sparse_embedding")
            let out = f.model.decode(embedding: storedEmbedding, prompt: input, multimask: true)
            assertClose(out.lowResLogits, try r.readTensor("cases/\(name)/lowres_logits"), .relative(1e-4), "\(name) lowres_logits")
            assertClose(Tensor(shape: [3], data: out.iouPredictions), try r.readTensor("cases/\(name)/iou_predictions"),
                        .relative(1e-4), "\(name) iou_predictions")
        }
    }

    func testEndToEndFromImage() throws {
        let f = try fixture()
        let r = f.reference
        for name in Self.cases {
            let prediction = f.model.predict(embedding: f.embedding, geometry: f.geometry,
                                             prompt: try prompt(r, name), multimask: true)
            assertClose(prediction.lowResLogits, try r.readTensor("cases/\(name)/lowres_logits"), .relative(1e-3),
                        "\(name) lowres_logits end to end")
            assertClose(Tensor(shape: [3], data: prediction.iouPredictions),
                        try r.readTensor("cases/\(name)/iou_predictions"), .relative(1e-3), "\(name) iou end to end")
        }
    }

    func testUpsamplingAndBestMask() throws {
        let f = try fixture()
        let r = f.reference
        let best = try XCTUnwrap(r.attributeInt("best_index", at: "cases/case0_point"))
        let lowRes = try r.readTensor("cases/case0_point/lowres_logits")[best].reshaped([1, 256, 256])
        let upsampled = f.model.upsample(lowRes, geometry: f.geometry)
        let refLogits = try r.readTensor("cases/case0_point/upsampled_logits_best")
        assertClose(upsampled.reshaped([1200, 1800]), refLogits, .relative(1e-4), "upsampled_logits_best")
        let mask = upsampled.data.withUnsafeBufferPointer { f.model.threshold($0) }
        let refMask = try r.readUInt8("cases/case0_point/mask_best").values
        // Identical except where |ref logit| < 1e-3·max|ref| (the README's rule: there the reference's
        // own fp32 and fp64 runs differ in 8 pixels).
        XCTAssertEqual(mask.count, refMask.count)
        let band = 1e-3 * refLogits.data.map(abs).max()!
        let mismatches = mask.indices.filter { mask[$0] != refMask[$0] && abs(refLogits.data[$0]) >= band }
        XCTAssertEqual(mismatches.count, 0, "mask_best differs outside the band at \(mismatches.prefix(5))")
        XCTAssertLessThanOrEqual(mask.indices.filter { mask[$0] != refMask[$0] }.count, 8, "mask_best, inside the band too")
        // The decoded best mask agrees with the IoU argmax of the end-to-end prediction.
        let prediction = f.model.predict(embedding: f.embedding, geometry: f.geometry,
                                         prompt: PromptSet(points: [PixelPoint(x: 500, y: 375)], labels: [1]), multimask: true)
        XCTAssertEqual(prediction.iouPredictions.indices.max { prediction.iouPredictions[$0] < prediction.iouPredictions[$1] }, best)
    }
}

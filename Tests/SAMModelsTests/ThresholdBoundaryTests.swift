import SAMModels
import TensorMath
import TestSupport
import XCTest

/// Values placed exactly on every threshold SAM and EfficientSAM apply, so that the opposite
/// comparison (> for ≥ or ≥ for >) fails a test.
final class ThresholdBoundaryTests: XCTestCase {
    /// Mask = logit > 0 for SAM, logit ≥ 0 for EfficientSAM (−0.0 is 0 too).
    func testMaskThresholdAtZero() throws {
        let logits: [Float] = [-1, 0, 1, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude]
        for (bundle, checkpoint, expected) in [("sam-small", "weights.pth", [0, 0, 1, 0, 1, 0] as [UInt8]),
                                               ("efficientsam-vitt", "weights.pt", [0, 1, 1, 1, 1, 0])] {
            let model = try SegmentAnythingModel(checkpoint: try bundleFile("parity/\(bundle)/\(checkpoint)"))
            XCTAssertEqual(logits.withUnsafeBufferPointer { model.threshold($0) }, expected, bundle)
        }
    }

    /// Stability = count(logit > offset) / count(logit > −offset), both strict (SAM's
    /// calculate_stability_score), on the vectorised body and the scalar tail alike.
    func testStabilityScoreCountsStrictlyAboveBothCuts() {
        // 16 values for the SIMD body, then 4 for the tail; ±1 sit exactly on the cuts.
        let body: [Float] = [1, -1, 2, 0, 1, -1, 1.5, -2, 1, 1, -1, -1, 0.5, 3, -3, 1]
        let tail: [Float] = [1, -1, 2, -0.5]
        let logits = body + tail
        // > 1: 2, 1.5, 3, 2 → 4.   > −1: 1, 2, 0, 1, 1.5, 1, 1, 0.5, 3, 1, 1, 2, −0.5 → 13.
        let score = logits.withUnsafeBufferPointer { stabilityScore($0, offset: 1) }
        XCTAssertEqual(score, 4 / 13)
    }

    /// The automatic mask generator keeps IoU > its threshold and stability ≥ its threshold.
    func testGeneratorFiltersOnTheirThresholds() {
        var generator = AutomaticMaskGenerator()
        generator.predIoUThreshold = 0.75
        generator.stabilityScoreThreshold = 0.5
        XCTAssertFalse(generator.keeps(predictedIoU: 0.75, stability: 0.9), "IoU exactly on its threshold is dropped")
        XCTAssertTrue(generator.keeps(predictedIoU: Float(0.75).nextUp, stability: 0.9))
        XCTAssertTrue(generator.keeps(predictedIoU: 0.9, stability: 0.5), "stability exactly on its threshold is kept")
        XCTAssertFalse(generator.keeps(predictedIoU: 0.9, stability: Float(0.5).nextDown))
    }

    /// Box NMS suppresses IoU > threshold: boxes overlapping at exactly the threshold both stay.
    func testNonMaximumSuppressionAtExactIoU() {
        // (0,0,10,10) and (0,0,10,5): intersection 50, union 100, IoU exactly 0.5.
        let boxes = [SIMD4(0, 0, 10, 10), SIMD4(0, 0, 10, 5), SIMD4(0, 0, 10, 6)]
        // The third overlaps the first at 60/100 = 0.6 and is suppressed; the second is not.
        XCTAssertEqual(nonMaximumSuppression(boxes: boxes, scores: [0.9, 0.8, 0.7], threshold: 0.5), [0, 1])
    }
}

import COCOEvaluation
import COCOFormat
import TestSupport
import XCTest

/// The mask of every ground-truth annotation of coco-dev (polygons rasterised and merged, crowd
/// RLE converted) is pycocotools' `COCO.annToRLE`, byte for byte.
final class GroundTruthMaskTests: XCTestCase {
    func testEveryAnnotationMaskIsPycocotools() throws {
        let relative = COCOEvalParityTests.annotations
        guard let annotations = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
        let groundTruth = try GroundTruth.load(path: annotations)
        let expected = try XCTUnwrap(Fixtures.json("ground_truth_rle.json") as? [String: String])
        XCTAssertEqual(groundTruth.annotations.count, 1444)
        XCTAssertEqual(Set(groundTruth.annotations.map { String($0.id) }), Set(expected.keys))
        let images = Dictionary(uniqueKeysWithValues: groundTruth.images.map { ($0.id, $0) })
        var crowd = 0, differing = [Int]()
        for annotation in groundTruth.annotations {
            let image = try XCTUnwrap(images[annotation.imageID])
            let mask = try XCTUnwrap(annotation.segmentation).mask(imageHeight: image.height, imageWidth: image.width)
            if mask.compressedString != expected[String(annotation.id)] { differing.append(annotation.id) }
            if annotation.isCrowd { crowd += 1 }
        }
        XCTAssertEqual(differing, [], "annotations whose RLE differs from pycocotools'")
        XCTAssertEqual(crowd, 14)
    }
}

import COCOFormat
import Foundation
import XCTest

/// pycocotools.mask on edge cases (Fixtures/masks.json): polygon rasterisation (frPyObjects +
/// merge), uncompressed RLE, unions and IoU matrices.
final class MaskEdgeCaseTests: XCTestCase {
    private func cases(_ key: String) throws -> Any {
        try XCTUnwrap((Fixtures.json("masks.json") as? [String: Any])?[key])
    }

    func testPolygonsRasteriseAsPycocotools() throws {
        let polygons = try XCTUnwrap(cases("polygons") as? [[String: Any]])
        XCTAssertGreaterThan(polygons.count, 70)
        var rejected = 0
        for entry in polygons {
            let name = try XCTUnwrap(entry["name"] as? String)
            let height = try XCTUnwrap(entry["height"] as? Int), width = try XCTUnwrap(entry["width"] as? Int)
            let parts = try Fixtures.doubleRows(entry["polygons"])
            let segmentation = COCOSegmentation.polygons(parts)
            if entry["error"] != nil {
                XCTAssertThrowsError(try segmentation.mask(imageHeight: height, imageWidth: width), name)
                rejected += 1
            } else {
                let mask = try segmentation.mask(imageHeight: height, imageWidth: width)
                XCTAssertEqual(mask.compressedString, entry["counts"] as? String, name)
            }
        }
        XCTAssertEqual(rejected, 3)
    }

    func testUncompressedRunLengthsAsPycocotools() throws {
        for entry in try XCTUnwrap(cases("uncompressed") as? [[String: Any]]) {
            let name = try XCTUnwrap(entry["name"] as? String)
            let counts = try XCTUnwrap(entry["uncompressed"] as? [Int]).map(UInt32.init)
            let mask = try RunLengthMask(height: try XCTUnwrap(entry["height"] as? Int), width: try XCTUnwrap(entry["width"] as? Int),
                                         counts: counts)
            XCTAssertEqual(mask.compressedString, entry["counts"] as? String, name)
            XCTAssertEqual(mask.area, entry["area"] as? Int, name)
            XCTAssertEqual(mask.boundingBox.xywh, entry["bbox"] as? [Double], name)
        }
    }

    func testUnionsAsPycocotoolsMerge() throws {
        let unions = try XCTUnwrap(cases("unions") as? [[String: Any]])
        XCTAssertEqual(unions.count, 12)
        for entry in unions {
            let name = try XCTUnwrap(entry["name"] as? String)
            let height = try XCTUnwrap(entry["height"] as? Int), width = try XCTUnwrap(entry["width"] as? Int)
            let masks = try XCTUnwrap(entry["masks"] as? [String]).map { try RunLengthMask(compressed: $0, height: height, width: width) }
            XCTAssertEqual(RunLengthMask.union(masks)?.compressedString, entry["union"] as? String, name)
        }
        let small = RunLengthMask(mask: [1], height: 1, width: 1)
        XCTAssertNil(RunLengthMask.union([small, RunLengthMask(mask: [1, 0], height: 1, width: 2)]), "sizes differ")
        XCTAssertNil(RunLengthMask.union([]))
    }

    func testMaskIoUAsPycocotools() throws {
        let cases = try XCTUnwrap(try cases("iou") as? [String: Any])
        let masks = try XCTUnwrap(cases["mask"] as? [String: Any])
        let height = try XCTUnwrap(masks["height"] as? Int), width = try XCTUnwrap(masks["width"] as? Int)
        let detections = try XCTUnwrap(masks["detections"] as? [[String: Any]]).map { entry -> RunLengthMask in
            let size = try XCTUnwrap(entry["size"] as? [Int])
            return try RunLengthMask(compressed: try XCTUnwrap(entry["counts"] as? String), height: size[0], width: size[1])
        }
        let truths = try XCTUnwrap(masks["ground_truth"] as? [String]).map { try RunLengthMask(compressed: $0, height: height, width: width) }
        let crowd = try XCTUnwrap(masks["crowd"] as? [Int]).map { $0 != 0 }
        let expected = try Fixtures.doubleRows(masks["iou"])
        XCTAssertEqual(expected.count, detections.count)
        for (d, detection) in detections.enumerated() {
            let mine = truths.indices.map { RunLengthMask.iou(detection: detection, groundTruth: truths[$0], crowd: crowd[$0]) }
            XCTAssertEqual(mine, expected[d], "detection \(d)")
        }
        XCTAssertTrue(expected.last!.contains(-1), "the detection of another size overlaps some box: -1")
    }

    func testBoxIoUAsPycocotools() throws {
        let cases = try XCTUnwrap(try cases("iou") as? [String: Any])
        let boxes = try XCTUnwrap(cases["box"] as? [String: Any])
        func box(_ values: [Double]) -> COCOBox { COCOBox(x: values[0], y: values[1], width: values[2], height: values[3]) }
        let detections = try Fixtures.doubleRows(boxes["detections"]).map(box)
        let truths = try Fixtures.doubleRows(boxes["ground_truth"]).map(box)
        let crowd = try XCTUnwrap(boxes["crowd"] as? [Int]).map { $0 != 0 }
        let expected = try Fixtures.doubleRows(boxes["iou"])
        for (d, detection) in detections.enumerated() {
            XCTAssertEqual(truths.indices.map { COCOBox.iou(detection: detection, groundTruth: truths[$0], crowd: crowd[$0]) }, expected[d],
                           "detection \(d)")
        }
    }
}

import COCOFormat
import Foundation
import TestSupport
import XCTest

final class COCOResultsTests: XCTestCase {
    private let categories = [COCOCategory(id: 1, name: "person", supercategory: "person"),
                              COCOCategory(id: 10, name: "traffic light", supercategory: "outdoor"),
                              COCOCategory(id: 3, name: "car", supercategory: "vehicle")]

    func sampleDetections() throws -> [COCODetection] {
        let map = COCOCategoryMap(categories)
        // 7 x 9 with one pixel at the bottom-left corner: pycocotools' "61h1" (see Fixtures/cases.json).
        var pixels = [UInt8](repeating: 0, count: 63)
        pixels[6 * 9] = 1
        let corner = RunLengthMask(mask: pixels, height: 7, width: 9)
        let full = RunLengthMask(mask: [1, 1, 1, 1], height: 2, width: 2)
        return [
            COCODetection(imageID: 790, category: map.categoryID(for: "Traffic  Light "), mask: corner, score: Float(0.9)),
            COCODetection(imageID: 790, category: map.categoryID(for: "café \"bar\"\\"), mask: full,
                          box: COCOBox(x: 0.5, y: 1e-05, width: 2, height: 1234.25), score: 0.125),
        ]
    }

    func testResultsTextIsExactAndStable() throws {
        let text = try COCOResults.json(try sampleDetections())
        let expected = """
        [
        {"image_id":790,"category_id":10,"segmentation":{"size":[7,9],"counts":"61h1"},"bbox":[0.0,6.0,1.0,1.0],"score":0.9},
        {"image_id":790,"category_id":"café \\"bar\\"\\\\","segmentation":{"size":[2,2],"counts":"04"},"bbox":[0.5,1e-05,2.0,1234.25],"score":0.125}
        ]

        """
        XCTAssertEqual(text, expected)
        XCTAssertEqual(try COCOResults.json(try sampleDetections()), text, "same input, same bytes")
        XCTAssertEqual(try COCOResults.json([]), "[]\n")
    }

    /// The text is JSON that reads back to the same values (as pycocotools' json.load would see them).
    func testResultsParseBack() throws {
        let detections = try sampleDetections()
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(COCOResults.json(detections).utf8)) as? [[String: Any]])
        XCTAssertEqual(parsed.count, 2)
        XCTAssertEqual(parsed[0]["category_id"] as? Int, 10)
        XCTAssertEqual(parsed[1]["category_id"] as? String, "café \"bar\"\\")
        for (entry, detection) in zip(parsed, detections) {
            XCTAssertEqual(entry["image_id"] as? Int, detection.imageID)
            let segmentation = try XCTUnwrap(entry["segmentation"] as? [String: Any])
            XCTAssertEqual(segmentation["size"] as? [Int], [detection.height, detection.width])
            XCTAssertEqual(segmentation["counts"] as? String, detection.counts)
            XCTAssertEqual(entry["bbox"] as? [Double], detection.box.xywh)
            XCTAssertEqual(entry["score"] as? Double, detection.score)
        }
    }

    /// pycocotools strings can hold a backslash; it must be escaped and come back intact.
    func testBackslashInCountsSurvives() throws {
        let fixture = try XCTUnwrap(try FixtureCase.load().first { $0.counts.contains("\\") }, "a fixture string with a backslash")
        let mask = try RunLengthMask(compressed: fixture.counts, height: fixture.height, width: fixture.width)
        let text = try COCOResults.json([COCODetection(imageID: 1, category: .id(1), mask: mask, score: 1.0)])
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        XCTAssertEqual((parsed[0]["segmentation"] as? [String: Any])?["counts"] as? String, fixture.counts)
        XCTAssertEqual(parsed[0]["bbox"] as? [Double], fixture.bbox)
    }

    func testInvalidDetectionsAreRefused() throws {
        var detections = try sampleDetections()
        detections[1].score = .nan
        XCTAssertThrowsError(try COCOResults.json(detections)) { error in
            XCTAssertEqual("\(error)", "detection 1: score nan is not finite")
        }
        detections = try sampleDetections()
        detections[0].box.width = .infinity
        XCTAssertThrowsError(try COCOResults.json(detections)) { error in
            XCTAssertEqual("\(error)", "detection 0: bbox [0.0, 6.0, inf, 1.0] is not finite")
        }
        detections = try sampleDetections()
        detections[0].counts = "61h"
        XCTAssertThrowsError(try COCOResults.json(detections)) { error in
            XCTAssertTrue("\(error)".hasPrefix("detection 0: segmentation: COCO RLE string ends inside a number"), "\(error)")
        }
        detections = try sampleDetections()
        detections[0].height = 8
        XCTAssertThrowsError(try COCOResults.json(detections)) { error in
            XCTAssertEqual("\(error)", "detection 0: segmentation: COCO RLE runs cover 63 pixels, but a 8x9 mask has 72")
        }
    }

    func testWritingFilesAtomically() throws {
        let directory = scratchDirectory()
        let path = directory + "/detections.json"
        try COCOResults.write(try sampleDetections(), to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), try COCOResults.json(try sampleDetections()))
        let images = [COCOImage(id: 790, fileName: "000000000790.jpg", height: 422, width: 640),
                      COCOImage(id: 8193, fileName: "dir/\"odd\".jpg", height: 1, width: 2)]
        try COCOResults.writeImages(images, to: directory + "/images.json")
        XCTAssertEqual(try String(contentsOfFile: directory + "/images.json", encoding: .utf8), """
        [
        {"id":790,"file_name":"000000000790.jpg","height":422,"width":640},
        {"id":8193,"file_name":"dir/\\"odd\\".jpg","height":1,"width":2}
        ]

        """)
        XCTAssertThrowsError(try COCOResults.imagesJSON([COCOImage(id: 5, fileName: "x.jpg", height: 0, width: 3)])) { error in
            XCTAssertEqual("\(error)", "image 5: size 0x3 is empty")
        }
        XCTAssertThrowsError(try COCOResults.write([], to: directory + "/missing/dir/detections.json")) { error in
            XCTAssertTrue("\(error)".hasPrefix(directory + "/missing/dir/detections.json: cannot write"), "\(error)")
        }
    }

    func testCategoryMapping() throws {
        let map = COCOCategoryMap(categories)
        XCTAssertEqual(map.categoryID(for: "person"), .id(1))
        XCTAssertEqual(map.categoryID(for: " PERSON"), .id(1))
        XCTAssertEqual(map.categoryID(for: "traffic\tlight"), .id(10))
        XCTAssertEqual(map.categoryID(for: "persons"), .name("persons"), "no plural folding")
        XCTAssertEqual(map.categoryID(for: "lamp post"), .name("lamp post"))

        let list = #"[{"id": 4, "name": "motorcycle"}, {"id": 5, "name": "airplane", "supercategory": "vehicle"}]"#
        XCTAssertEqual(try COCOCategory.parse(json: Data(list.utf8)),
                       [COCOCategory(id: 4, name: "motorcycle"), COCOCategory(id: 5, name: "airplane", supercategory: "vehicle")])
        let wrapped = #"{"images": [], "categories": [{"id": 4, "name": "motorcycle"}]}"#
        XCTAssertEqual(try COCOCategory.parse(json: Data(wrapped.utf8)), [COCOCategory(id: 4, name: "motorcycle")])
        XCTAssertThrowsError(try COCOCategory.parse(json: Data(#"{"images": []}"#.utf8))) { error in
            XCTAssertEqual("\(error)", #"COCO categories: expected a list of categories or an object with a "categories" list"#)
        }
        XCTAssertThrowsError(try COCOCategory.parse(json: Data(#"[{"id": "4", "name": "x"}]"#.utf8))) { error in
            XCTAssertEqual("\(error)", #"COCO categories: category 0 has no integer "id" and string "name""#)
        }
        let bad = scratchDirectory() + "/bad.json"
        try Data("[1".utf8).write(to: URL(fileURLWithPath: bad))
        XCTAssertThrowsError(try COCOCategory.load(from: bad)) { error in
            XCTAssertTrue("\(error)".hasPrefix(bad + ": COCO categories: not JSON"), "\(error)")
        }
    }

    /// The 80 categories of a real COCO annotations file (../shared; skipped without it).
    func testCategoriesOfTheCOCOFile() throws {
        let relative = "data/coco-dev/instances.json"
        guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
        let categories = try COCOCategory.load(from: path)
        XCTAssertEqual(categories.count, 80)
        let map = COCOCategoryMap(categories)
        XCTAssertEqual(map.categoryID(for: "Person"), .id(1))
        XCTAssertEqual(map.categoryID(for: "toothbrush"), .id(90))
        XCTAssertEqual(map.categoryID(for: "hair drier"), .id(89))
    }
}

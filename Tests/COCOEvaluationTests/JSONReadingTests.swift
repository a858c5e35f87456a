import COCOEvaluation
import TestSupport
import XCTest

/// The JSON reader behind GroundTruth and DetectionResults, through GroundTruth.parse: numbers
/// as the nearest double (what Python's json gives), strings with escapes, and malformed JSON
/// refused with an error naming the source.
final class JSONReadingTests: XCTestCase {
    private func instances(areas: [String], names: [String] = ["cat"]) -> String {
        let categories = names.enumerated().map { #"{"id": \#($0.offset + 1), "name": "\#($0.element)"}"# }
        let annotations = areas.enumerated().map { index, area in
            #"{"id": \#(index + 1), "image_id": 1, "category_id": 1, "area": \#(area), "iscrowd": 0, "bbox": [0, 0, 1, 1]}"#
        }
        return #"{"images": [{"id": 1, "height": 4, "width": 5}], "categories": [\#(categories.joined(separator: ","))],"# +
            #" "annotations": [\#(annotations.joined(separator: ",\n"))]}"#
    }

    func testNumbersAreTheNearestDouble() throws {
        var generator = SeededGenerator(seed: 7)
        var texts = ["0", "-0", "1", "-1", "0.1", "0.7", "1e-7", "1E+22", "1e23", "9007199254740993", "123456789012345678901234567890",
                     "0.30000000000000004", "2.2250738585072014e-308", "4.9e-324", "1.7976931348623157e308", "0.000001234567890123456789",
                     "1234.5678e-3", "-98765.4321E2", "3.141592653589793238462643383279"]
        for _ in 0..<2000 {
            let value = Double(bitPattern: generator.next() & 0x7fef_ffff_ffff_ffff)
            texts.append(value.description)
            texts.append(String(Double.random(in: 0..<100_000, using: &generator)))
            texts.append(String(format: "%.3f", Double.random(in: -1000..<1000, using: &generator)))
        }
        let groundTruth = try GroundTruth.parse(json: Array(instances(areas: texts).utf8), source: "numbers")
        XCTAssertEqual(groundTruth.annotations.count, texts.count)
        for (annotation, text) in zip(groundTruth.annotations, texts) {
            XCTAssertEqual(annotation.area, try XCTUnwrap(Double(text)), text)
            XCTAssertEqual(annotation.area.sign, text.hasPrefix("-") ? .minus : .plus, text)
        }
    }

    func testStringEscapes() throws {
        let names = [#"caf\u00e9"#, #"a\"b\\c\/d"#, #"\ud83d\ude00 tab\t"#]
        let groundTruth = try GroundTruth.parse(json: Array(instances(areas: ["1"], names: names).utf8), source: "names")
        XCTAssertEqual(groundTruth.categories.map(\.name), ["café", "a\"b\\c/d", "😀 tab\t"])
    }

    func testMalformedJSONIsRefusedNamingTheSource() {
        let good = instances(areas: ["1"])
        let bad = [
            good.replacingOccurrences(of: "]}", with: "],}"),      // trailing comma
            String(good.dropLast()),                                 // unclosed object
            good.replacingOccurrences(of: #""area": 1"#, with: #""area": NaN"#),
            good.replacingOccurrences(of: #""area": 1"#, with: #""area": 01"#),
            good.replacingOccurrences(of: #""area": 1"#, with: #""area": 1."#),
            good.replacingOccurrences(of: #""name": "cat""#, with: #""name": "cat"#),
            good + " {}",                                            // a second value
            #"{"unknown": "# + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "}",  // too deep
            "",
        ]
        for (index, text) in bad.enumerated() {
            XCTAssertThrowsError(try GroundTruth.parse(json: Array(text.utf8), source: "bad.json"), "case \(index)") { error in
                XCTAssertTrue(String(describing: error).hasPrefix("bad.json: "), "case \(index): \(error)")
            }
        }
    }
}

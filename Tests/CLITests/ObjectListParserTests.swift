import Pipeline
import XCTest

final class ObjectListParserTests: XCTestCase {
    func names(_ text: String) -> [String] { parseObjectList(text).map(\.name) }

    func testListStyles() {
        XCTAssertEqual(names("car, truck, tire, window"), ["car", "truck", "tire", "window"])
        XCTAssertEqual(names(" A red truck, a dog, and a bag of groceries."), ["red truck", "dog", "bag of groceries"])
        XCTAssertEqual(names("1. The car\n2. Trees\n3) the Sky."), ["car", "trees", "sky"])
        XCTAssertEqual(names("- wheel\n* door\n• Mirror"), ["wheel", "door", "mirror"])
        XCTAssertEqual(names("cats and dogs; a bird & an Apple"), ["cats", "dogs", "bird", "apple"])
        XCTAssertEqual(names("sand, bandana"), ["sand", "bandana"], "'and' inside words is not a separator")
    }

    func testDuplicatesMergeWithEveryMention() {
        let text = "dog, cat, the Dog"
        let objects = parseObjectList(text)
        XCTAssertEqual(objects.map(\.name), ["dog", "cat"])
        let bytes = Array(text.utf8)
        XCTAssertEqual(objects[0].byteRanges.map { String(decoding: bytes[$0], as: UTF8.self) }, ["dog", "Dog"])
    }

    func testNonASCIINamesAndEmptyItems() {
        XCTAssertEqual(names("café, , crème brûlée\n\n"), ["café", "crème brûlée"])
        XCTAssertEqual(names(""), [])
    }

    func testTokenSpans() {
        // Tokens " red", " truck", ",", " dog" → byte lengths 4, 6, 1, 4.
        let lengths = [4, 6, 1, 4]
        XCTAssertEqual(tokenSpan(covering: 1..<10, tokenByteLengths: lengths), 0..<2)
        XCTAssertEqual(tokenSpan(covering: 12..<15, tokenByteLengths: lengths), 3..<4)
        XCTAssertEqual(tokenSpan(covering: 20..<22, tokenByteLengths: lengths), 0..<0)
    }
}

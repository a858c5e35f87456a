import Imaging
import XCTest

final class BitmapFontTests: XCTestCase {
    let grey = SIMD3<UInt8>(90, 90, 90), white = SIMD3<UInt8>(255, 255, 255), black = SIMD3<UInt8>(0, 0, 0)

    func canvas(_ width: Int, _ height: Int) -> RGBImage {
        RGBImage(width: width, height: height, pixels: [UInt8](repeating: 90, count: width * height * 3))
    }

    func pixel(_ image: RGBImage, _ x: Int, _ y: Int) -> SIMD3<UInt8> {
        let i = (y * image.width + x) * 3
        return SIMD3(image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
    }

    /// Draws `character` at (x, y) with `scale` and checks every pixel of the canvas: the glyph
    /// pattern in white (each font pixel a scale × scale square), the rest of the box black, the
    /// canvas outside the box untouched.
    func assertGlyph(_ character: Character, pattern: [String], scale: Int, file: StaticString = #filePath, line: UInt = #line) {
        let x = 3, y = 2
        var image = canvas(20 + 7 * scale, 12 + 9 * scale)
        drawText(String(character), on: &image, x: x, y: y, scale: scale, colour: white, background: black)
        for py in 0..<image.height {
            for px in 0..<image.width {
                let inBox = px >= x && px < x + 6 * scale + scale && py >= y && py < y + 9 * scale
                let column = (px - x) / scale - 1, row = (py - y) / scale - 1
                let lit = inBox && (0..<5).contains(column) && (0..<7).contains(row)
                    && pattern[row][pattern[row].index(pattern[row].startIndex, offsetBy: column)] == "#"
                let expected = lit ? white : (inBox ? black : grey)
                guard pixel(image, px, py) == expected else {
                    XCTFail("'\(character)' at scale \(scale): pixel (\(px), \(py)) is \(pixel(image, px, py)), expected \(expected)",
                            file: file, line: line)
                    return
                }
            }
        }
    }

    func testCapitalIIsACentredBarWithSerifs() {
        let pattern = [".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."]
        assertGlyph("I", pattern: pattern, scale: 1)
        assertGlyph("I", pattern: pattern, scale: 3)
    }

    func testVerticalBarAndMinusAndL() {
        assertGlyph("|", pattern: Array(repeating: "..#..", count: 7), scale: 2)
        assertGlyph("-", pattern: [".....", ".....", ".....", "#####", ".....", ".....", "....."], scale: 2)
        assertGlyph("L", pattern: Array(repeating: "#....", count: 6) + ["#####"], scale: 1)
    }

    func testIsLitMatchesTheDrawing() {
        XCTAssertTrue(BitmapFont.isLit("I", column: 2, row: 3))
        XCTAssertFalse(BitmapFont.isLit("I", column: 0, row: 3))
        XCTAssertFalse(BitmapFont.isLit("I", column: 5, row: 0), "outside the glyph")
        XCTAssertTrue((0..<5).allSatisfy { column in (0..<7).allSatisfy { !BitmapFont.isLit(" ", column: column, row: $0) } })
    }

    func testEveryPrintableGlyphIsDistinctAndVisible() {
        let glyphs = (32...126).map { Array(BitmapFont.rows(of: Character(Unicode.Scalar(UInt8($0))))) }
        XCTAssertEqual(Set(glyphs.map { $0.map(String.init).joined(separator: ",") }).count, 95, "two glyphs are drawn the same")
        for (k, glyph) in glyphs.enumerated().dropFirst() {
            XCTAssertTrue(glyph.contains { $0 != 0 }, "glyph \(k + 32) is blank")
            XCTAssertTrue(glyph.allSatisfy { $0 < 32 }, "glyph \(k + 32) is wider than 5")
        }
    }

    func testTextWidthArithmetic() {
        XCTAssertEqual(textWidth(""), 0)
        XCTAssertEqual(textWidth("A"), 7)                 // 1 padding + 5 glyph + 1 gap
        XCTAssertEqual(textWidth("abc", scale: 2), 38)    // (1 + 3 × 6) × 2
        XCTAssertEqual(textWidth("name 0.87", scale: 4), (1 + 9 * 6) * 4)
        XCTAssertEqual(textWidth("é?"), textWidth("??"), "one glyph a character")
        XCTAssertEqual(textHeight(), 9)
        XCTAssertEqual(textHeight(scale: 3), 27)
    }

    func testUnknownCharactersDrawAsQuestionMarks() {
        var unknown = canvas(40, 12), question = canvas(40, 12)
        drawText("é\n€", on: &unknown, x: 1, y: 1)
        drawText("???", on: &question, x: 1, y: 1)
        XCTAssertEqual(unknown, question)
        XCTAssertNotEqual(question, canvas(40, 12))
    }

    func testTextIsClippedAtTheImageBorder() {
        var image = canvas(10, 6)
        drawText("WWW", on: &image, x: 4, y: 2, scale: 2, colour: white, background: black)
        drawText("W", on: &image, x: -20, y: -20)
        XCTAssertEqual(pixel(image, 3, 3), grey)
        XCTAssertEqual(pixel(image, 4, 2), black, "the box's top-left padding")
        XCTAssertEqual(pixel(image, 6, 4), white, "W's top-left pixel at scale 2")
    }

    func testNoBackgroundLeavesTheBoxAlone() {
        var image = canvas(12, 11)
        drawText("I", on: &image, x: 0, y: 0, colour: white, background: nil)
        XCTAssertEqual(pixel(image, 0, 0), grey)
        XCTAssertEqual(pixel(image, 1, 1), grey, "I's top-left corner is blank")
        XCTAssertEqual(pixel(image, 2, 1), white)
    }
}

/// A small built-in bitmap font for captions and labels: 5 × 7 pixel glyphs for printable ASCII
/// (32–126), drawn at an integer scale on a filled box. The glyphs are this project's own
/// drawing; lower-case descenders (g, j, p, q, y) sit inside the 7 rows.
public enum BitmapFont {
    public static let glyphWidth = 5
    public static let glyphHeight = 7
    /// Font pixels from one glyph's left edge to the next: the glyph and one blank column.
    public static let advance = glyphWidth + 1
    /// Font pixels of background left of the first glyph and above and below the glyphs; on the
    /// right the last glyph's blank column is the padding.
    public static let padding = 1

    /// The glyph of `character`, one entry a row, top first; bit 4 is the leftmost column.
    /// Anything outside printable ASCII is '?'.
    public static func rows(of character: Character) -> ArraySlice<UInt8> {
        let code = character.asciiValue.map(Int.init) ?? 0
        let index = (32...126).contains(code) ? code - 32 : Int(("?" as Character).asciiValue!) - 32
        return glyphRows[index * glyphHeight..<(index + 1) * glyphHeight]
    }

    /// Whether the glyph of `character` lights font pixel (column, row).
    public static func isLit(_ character: Character, column: Int, row: Int) -> Bool {
        guard (0..<glyphWidth).contains(column), (0..<glyphHeight).contains(row) else { return false }
        let glyph = rows(of: character)
        return glyph[glyph.startIndex + row] & (1 << (glyphWidth - 1 - column)) != 0
    }
}

/// Width in image pixels of the box `drawText` fills for `text`: one padding column, then
/// `BitmapFont.advance` columns a character, times `scale`. The empty string has width 0.
public func textWidth(_ text: String, scale: Int = 1) -> Int {
    let count = text.count
    return count == 0 ? 0 : (BitmapFont.padding + count * BitmapFont.advance) * scale
}

/// Height in image pixels of the box `drawText` fills: the glyph rows with padding above and below.
public func textHeight(scale: Int = 1) -> Int {
    (BitmapFont.glyphHeight + 2 * BitmapFont.padding) * scale
}

/// Draws one line of `text` with its box's top-left corner at (x, y): the box
/// (`textWidth` × `textHeight`) filled with `background` when given, then each glyph pixel as a
/// `scale` × `scale` square of `colour`. Characters outside printable ASCII (newlines included)
/// draw as '?'. Whatever falls outside the image is clipped.
public func drawText(_ text: String, on image: inout RGBImage, x: Int, y: Int, scale: Int = 1,
                     colour: SIMD3<UInt8> = SIMD3(255, 255, 255), background: SIMD3<UInt8>? = SIMD3(0, 0, 0)) {
    precondition(scale >= 1, "drawText: scale \(scale) must be at least 1")
    guard !text.isEmpty else { return }
    let width = image.width, height = image.height
    image.pixels.withUnsafeMutableBufferPointer { pixels in
        func fill(_ left: Int, _ top: Int, _ right: Int, _ bottom: Int, _ paint: SIMD3<UInt8>) {
            let x0 = max(left, 0), x1 = min(right, width), y0 = max(top, 0), y1 = min(bottom, height)
            guard x0 < x1, y0 < y1 else { return }
            for py in y0..<y1 {
                for px in x0..<x1 {
                    let i = (py * width + px) * 3
                    pixels[i] = paint.x
                    pixels[i + 1] = paint.y
                    pixels[i + 2] = paint.z
                }
            }
        }
        if let background { fill(x, y, x + textWidth(text, scale: scale), y + textHeight(scale: scale), background) }
        let top = y + BitmapFont.padding * scale
        for (k, character) in text.enumerated() {
            let left = x + (BitmapFont.padding + k * BitmapFont.advance) * scale
            guard left < width else { break }
            for (row, bits) in BitmapFont.rows(of: character).enumerated() where bits != 0 {
                for column in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - column)) != 0 {
                    let px = left + column * scale, py = top + row * scale
                    fill(px, py, px + scale, py + scale, colour)
                }
            }
        }
    }
}

/// The glyphs of ASCII 32…126 in order, each as its character and seven rows of five pixels
/// ('#' lit, '.' blank), top row first.
private let glyphDrawings: [(Character, String)] = [
    (" ", "..... ..... ..... ..... ..... ..... ....."),
    ("!", "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#.."),
    ("\"", ".#.#. .#.#. ..... ..... ..... ..... ....."),
    ("#", ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#."),
    ("$", "..#.. .#### #.#.. .###. ..#.# ####. ..#.."),
    ("%", "##... ##..# ...#. ..#.. .#... #..## ...##"),
    ("&", ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#"),
    ("'", "..#.. ..#.. ..... ..... ..... ..... ....."),
    ("(", "...#. ..#.. .#... .#... .#... ..#.. ...#."),
    (")", ".#... ..#.. ...#. ...#. ...#. ..#.. .#..."),
    ("*", "..... ..#.. #.#.# .###. #.#.# ..#.. ....."),
    ("+", "..... ..#.. ..#.. ##### ..#.. ..#.. ....."),
    (",", "..... ..... ..... ..... .##.. ..#.. .#..."),
    ("-", "..... ..... ..... ##### ..... ..... ....."),
    (".", "..... ..... ..... ..... ..... .##.. .##.."),
    ("/", "..... ....# ...#. ..#.. .#... #.... ....."),
    ("0", ".###. #...# #..## #.#.# ##..# #...# .###."),
    ("1", "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###."),
    ("2", ".###. #...# ....# ...#. ..#.. .#... #####"),
    ("3", "##### ...#. ..#.. ...#. ....# #...# .###."),
    ("4", "...#. ..##. .#.#. #..#. ##### ...#. ...#."),
    ("5", "##### #.... ####. ....# ....# #...# .###."),
    ("6", "..##. .#... #.... ####. #...# #...# .###."),
    ("7", "##### ....# ...#. ..#.. .#... .#... .#..."),
    ("8", ".###. #...# #...# .###. #...# #...# .###."),
    ("9", ".###. #...# #...# .#### ....# ...#. .##.."),
    (":", "..... .##.. .##.. ..... .##.. .##.. ....."),
    (";", "..... .##.. .##.. ..... .##.. ..#.. .#..."),
    ("<", "...#. ..#.. .#... #.... .#... ..#.. ...#."),
    ("=", "..... ..... ##### ..... ##### ..... ....."),
    (">", ".#... ..#.. ...#. ....# ...#. ..#.. .#..."),
    ("?", ".###. #...# ....# ...#. ..#.. ..... ..#.."),
    ("@", ".###. #...# ....# .##.# #.#.# #.#.# .###."),
    ("A", ".###. #...# #...# ##### #...# #...# #...#"),
    ("B", "####. #...# #...# ####. #...# #...# ####."),
    ("C", ".###. #...# #.... #.... #.... #...# .###."),
    ("D", "###.. #..#. #...# #...# #...# #..#. ###.."),
    ("E", "##### #.... #.... ####. #.... #.... #####"),
    ("F", "##### #.... #.... ####. #.... #.... #...."),
    ("G", ".###. #...# #.... #.### #...# #...# .####"),
    ("H", "#...# #...# #...# ##### #...# #...# #...#"),
    ("I", ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###."),
    ("J", "..### ...#. ...#. ...#. ...#. #..#. .##.."),
    ("K", "#...# #..#. #.#.. ##... #.#.. #..#. #...#"),
    ("L", "#.... #.... #.... #.... #.... #.... #####"),
    ("M", "#...# ##.## #.#.# #.#.# #...# #...# #...#"),
    ("N", "#...# #...# ##..# #.#.# #..## #...# #...#"),
    ("O", ".###. #...# #...# #...# #...# #...# .###."),
    ("P", "####. #...# #...# ####. #.... #.... #...."),
    ("Q", ".###. #...# #...# #...# #.#.# #..#. .##.#"),
    ("R", "####. #...# #...# ####. #.#.. #..#. #...#"),
    ("S", ".#### #.... #.... .###. ....# ....# ####."),
    ("T", "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."),
    ("U", "#...# #...# #...# #...# #...# #...# .###."),
    ("V", "#...# #...# #...# #...# #...# .#.#. ..#.."),
    ("W", "#...# #...# #...# #.#.# #.#.# #.#.# .#.#."),
    ("X", "#...# #...# .#.#. ..#.. .#.#. #...# #...#"),
    ("Y", "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#.."),
    ("Z", "##### ....# ...#. ..#.. .#... #.... #####"),
    ("[", ".###. .#... .#... .#... .#... .#... .###."),
    ("\\", "..... #.... .#... ..#.. ...#. ....# ....."),
    ("]", ".###. ...#. ...#. ...#. ...#. ...#. .###."),
    ("^", "..#.. .#.#. #...# ..... ..... ..... ....."),
    ("_", "..... ..... ..... ..... ..... ..... #####"),
    ("`", ".#... ..#.. ..... ..... ..... ..... ....."),
    ("a", "..... ..... .###. ....# .#### #...# .####"),
    ("b", "#.... #.... #.##. ##..# #...# #...# ####."),
    ("c", "..... ..... .###. #.... #.... #...# .###."),
    ("d", "....# ....# .##.# #..## #...# #...# .####"),
    ("e", "..... ..... .###. #...# ##### #.... .###."),
    ("f", "..##. .#..# .#... ###.. .#... .#... .#..."),
    ("g", "..... ..... .#### #...# .#### ....# .###."),
    ("h", "#.... #.... #.##. ##..# #...# #...# #...#"),
    ("i", "..#.. ..... .##.. ..#.. ..#.. ..#.. .###."),
    ("j", "...#. ..... ..##. ...#. ...#. #..#. .##.."),
    ("k", "#.... #.... #..#. #.#.. ##... #.#.. #..#."),
    ("l", ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###."),
    ("m", "..... ..... ##.#. #.#.# #.#.# #...# #...#"),
    ("n", "..... ..... #.##. ##..# #...# #...# #...#"),
    ("o", "..... ..... .###. #...# #...# #...# .###."),
    ("p", "..... ..... ####. #...# ####. #.... #...."),
    ("q", "..... ..... .#### #...# .#### ....# ....#"),
    ("r", "..... ..... #.##. ##..# #.... #.... #...."),
    ("s", "..... ..... .###. #.... .###. ....# ####."),
    ("t", ".#... .#... ###.. .#... .#... .#..# ..##."),
    ("u", "..... ..... #...# #...# #...# #..## .##.#"),
    ("v", "..... ..... #...# #...# #...# .#.#. ..#.."),
    ("w", "..... ..... #...# #...# #.#.# #.#.# .#.#."),
    ("x", "..... ..... #...# .#.#. ..#.. .#.#. #...#"),
    ("y", "..... ..... #...# #...# .#### ....# .###."),
    ("z", "..... ..... ##### ...#. ..#.. .#... #####"),
    ("{", "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#."),
    ("|", "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."),
    ("}", ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#..."),
    ("~", "..... ..... .#... #.#.# ...#. ..... ....."),
]

/// The drawings as bit rows, `BitmapFont.glyphHeight` a glyph, checked once for order and shape.
private let glyphRows: [UInt8] = {
    precondition(glyphDrawings.count == 95, "BitmapFont: \(glyphDrawings.count) glyphs, expected 95")
    var rows: [UInt8] = []
    rows.reserveCapacity(glyphDrawings.count * BitmapFont.glyphHeight)
    for (index, (character, drawing)) in glyphDrawings.enumerated() {
        precondition(character.asciiValue == UInt8(32 + index), "BitmapFont: glyph \(index) is '\(character)', out of order")
        let lines = drawing.split(separator: " ")
        precondition(lines.count == BitmapFont.glyphHeight && lines.allSatisfy { $0.count == BitmapFont.glyphWidth },
                     "BitmapFont: the drawing of '\(character)' is not \(BitmapFont.glyphWidth) × \(BitmapFont.glyphHeight)")
        for line in lines {
            rows.append(line.reduce(0) { $0 << 1 | ($1 == "#" ? 1 : 0) })
        }
    }
    return rows
}()

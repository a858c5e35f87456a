/// One object named in a VLM answer: the normalised name and where each mention sits in the
/// answer's UTF-8 bytes (duplicates merged into one object with several mentions).
public struct ParsedObject: Sendable, Equatable {
    public var name: String
    public var byteRanges: [Range<Int>]
}

/// Splits an answer such as "1. A red car\n2. Trees and the sky." into object names: items are
/// separated by newlines, commas, semicolons, "&" and the word "and"; list numbers and bullets,
/// trailing punctuation and leading articles (a, an, the) are removed; names are lower-cased with
/// single spaces; plurals stay as written.
public func parseObjectList(_ text: String) -> [ParsedObject] {
    let bytes = Array(text.utf8)
    var objects: [ParsedObject] = []
    for item in listItems(bytes) {
        guard let core = coreName(bytes, item) else { continue }
        let name = String(decoding: bytes[core], as: UTF8.self).lowercased()
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
        if let existing = objects.firstIndex(where: { $0.name == name }) {
            objects[existing].byteRanges.append(core)
        } else {
            objects.append(ParsedObject(name: name, byteRanges: [core]))
        }
    }
    return objects
}

private func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }
private func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }

/// Byte ranges between separators.
private func listItems(_ b: [UInt8]) -> [Range<Int>] {
    var items: [Range<Int>] = []
    var start = 0, i = 0
    while i < b.count {
        var separatorLength = 0
        switch b[i] {
        case 0x0A, 0x2C, 0x3B, 0x26: separatorLength = 1        // \n , ; &
        case 0x61, 0x41:                                         // "and" as a whole word
            if i + 3 <= b.count, (b[i + 1] | 0x20) == 0x6E, (b[i + 2] | 0x20) == 0x64,
               i == 0 || isSpace(b[i - 1]), i + 3 == b.count || isSpace(b[i + 3]) || b[i + 3] == 0x0A {
                separatorLength = 3
            }
        default: break
        }
        if separatorLength > 0 {
            items.append(start..<i)
            i += separatorLength
            start = i
        } else {
            i += 1
        }
    }
    items.append(start..<b.count)
    return items
}

/// The name inside one item: without surrounding space, list marker, trailing punctuation or
/// leading articles. nil when nothing is left.
private func coreName(_ b: [UInt8], _ item: Range<Int>) -> Range<Int>? {
    var lo = item.lowerBound, hi = item.upperBound
    func trimSpace() {
        while lo < hi && isSpace(b[lo]) { lo += 1 }
        while hi > lo && isSpace(b[hi - 1]) { hi -= 1 }
    }
    trimSpace()
    // "12." / "3)" numbering, or a "-", "*" or "•" bullet.
    var digits = lo
    while digits < hi && b[digits] >= 0x30 && b[digits] <= 0x39 { digits += 1 }
    if digits > lo && digits < hi && (b[digits] == 0x2E || b[digits] == 0x29) {
        lo = digits + 1
    } else if lo < hi && (b[lo] == 0x2D || b[lo] == 0x2A) {
        lo += 1
    } else if lo + 3 <= hi && b[lo] == 0xE2 && b[lo + 1] == 0x80 && b[lo + 2] == 0xA2 {
        lo += 3
    }
    trimSpace()
    while hi > lo && [0x2E, 0x21, 0x3F, 0x3A, 0x22, 0x27, 0x29].contains(b[hi - 1]) { hi -= 1 }
    trimSpace()
    // Leading articles, possibly repeated ("and the").
    var stripped = true
    while stripped {
        stripped = false
        for article in ["a", "an", "the"] {
            let word = Array(article.utf8), end = lo + word.count
            if end < hi && isSpace(b[end]) && zip(b[lo..<end], word).allSatisfy({ ($0 | 0x20) == $1 }) {
                lo = end
                trimSpace()
                stripped = true
            }
        }
    }
    guard lo < hi, b[lo..<hi].contains(where: isLetter) || b[lo..<hi].contains(where: { $0 >= 0x80 }) else { return nil }
    return lo..<hi
}

/// Token indices whose bytes overlap `range`, given each token's byte length in the answer.
public func tokenSpan(covering range: Range<Int>, tokenByteLengths: [Int]) -> Range<Int> {
    var offset = 0, first: Int?, last = 0
    for (i, length) in tokenByteLengths.enumerated() {
        let token = offset..<(offset + length)
        if length > 0 && token.overlaps(range) {
            if first == nil { first = i }
            last = i
        }
        offset += length
    }
    guard let first else { return 0..<0 }
    return first..<(last + 1)
}

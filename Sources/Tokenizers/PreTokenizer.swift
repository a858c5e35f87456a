/// How digits are cut out before the GPT-2 split (Hugging Face's `Digits` pre-tokenizer).
enum DigitSplitting: Sendable, Equatable {
    /// No digit step.
    case none
    /// Every `\p{N}` character becomes its own word (`individual_digits: true`, SmolLM's choice).
    case individual
    /// Each run of `\p{N}` characters becomes one word (`individual_digits: false`).
    case contiguous
}

/// Splits text (already cut at added tokens) into the words that BPE merges within:
/// the optional digit step, then `ByteLevel` with GPT-2's regex
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
/// matched by hand over Unicode scalars.
struct ByteLevelPreTokenizer: Sendable, Equatable {
    var digits: DigitSplitting
    /// Prepend a space to every piece that does not start with one (`add_prefix_space`).
    var addPrefixSpace: Bool
    /// Apply the GPT-2 regex; without it each piece is one word (`use_regex`).
    var useRegex: Bool

    /// Calls `body` with each word of `piece`, in order. The words cover the piece exactly
    /// (plus the prefix space when `addPrefixSpace` adds one).
    func forEachWord(in piece: ArraySlice<Unicode.Scalar>, _ body: (ArraySlice<Unicode.Scalar>) -> Void) {
        guard digits != .none else { return byteLevelWords(in: piece, body) }
        var start = piece.startIndex
        var index = start
        while index < piece.endIndex {
            guard ScalarClass(piece[index]) == .number else { index += 1; continue }
            var end = index + 1
            if digits == .contiguous {
                while end < piece.endIndex && ScalarClass(piece[end]) == .number { end += 1 }
            }
            if start < index { byteLevelWords(in: piece[start..<index], body) }
            byteLevelWords(in: piece[index..<end], body)
            start = end
            index = end
        }
        if start < piece.endIndex { byteLevelWords(in: piece[start..<piece.endIndex], body) }
    }

    private func byteLevelWords(in piece: ArraySlice<Unicode.Scalar>, _ body: (ArraySlice<Unicode.Scalar>) -> Void) {
        if addPrefixSpace, piece.first != " " {
            // Rare configuration: the copy is per piece, not per character.
            let prefixed = [" "] + piece
            return regexWords(in: prefixed[...], body)
        }
        regexWords(in: piece, body)
    }

    private func regexWords(in piece: ArraySlice<Unicode.Scalar>, _ body: (ArraySlice<Unicode.Scalar>) -> Void) {
        guard useRegex else { return body(piece) }
        var start = piece.startIndex
        while start < piece.endIndex {
            let end = Self.gpt2MatchEnd(in: piece, from: start)
            body(piece[start..<end])
            start = end
        }
    }

    /// End of the regex match starting at `start`. Every character is matched by some
    /// alternative, so matches are contiguous and the first one starts at `start`.
    static func gpt2MatchEnd(in text: ArraySlice<Unicode.Scalar>, from start: Int) -> Int {
        let end = text.endIndex
        let first = text[start]

        // 's 't 're 've 'm 'll 'd (case-sensitive, as in the pattern).
        if first == "'" && start + 1 < end {
            switch text[start + 1] {
            case "s", "t", "m", "d":
                return start + 2
            case "r", "v":
                if start + 2 < end && text[start + 2] == "e" { return start + 3 }
            case "l":
                if start + 2 < end && text[start + 2] == "l" { return start + 3 }
            default:
                break
            }
        }

        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional single space, then a run of one class.
        var runStart = start
        if first == " " && start + 1 < end && ScalarClass(text[start + 1]) != .whitespace {
            runStart = start + 1
        }
        let runClass = ScalarClass(text[runStart])
        if runClass != .whitespace {
            var runEnd = runStart + 1
            while runEnd < end && ScalarClass(text[runEnd]) == runClass { runEnd += 1 }
            return runEnd
        }

        // `\s+(?!\S)` backs off one character so the last space can lead the next word;
        // a single whitespace character before a non-space falls through to `\s+`.
        var runEnd = start + 1
        while runEnd < end && ScalarClass(text[runEnd]) == .whitespace { runEnd += 1 }
        if runEnd < end && runEnd - start >= 2 { return runEnd - 1 }
        return runEnd
    }
}

/// The character classes the GPT-2 regex distinguishes.
enum ScalarClass: UInt8 {
    case letter      // \p{L}
    case number      // \p{N}
    case whitespace  // \s (Unicode White_Space)
    case other

    init(_ scalar: Unicode.Scalar) {
        if scalar.value < 128 {
            self = Self.ascii[Int(scalar.value)]
            return
        }
        if scalar.properties.isWhitespace { self = .whitespace; return }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = .other
        }
    }

    private static let ascii: [ScalarClass] = (0..<128).map { value in
        switch UInt8(value) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return .letter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case 9...13, 32: return .whitespace
        default: return .other
        }
    }
}

import Foundation
import TestSupport
import Tokenizers
import XCTest

/// Expected ids made once with Hugging Face `tokenizers` 0.23.3 (Python) on SmolVLM's
/// tokenizer.json, and on copies of it whose `pre_tokenizer` was replaced as named:
/// contractions, Unicode whitespace and digits, emoji sequences, near-miss added tokens,
/// long runs, and the pre-tokenizer options this class supports.
enum HuggingFaceReference {
    static let smolVLM: [(text: String, ids: [Int])] = [
        ("I'm sure it's what they've said: we'll see, I'd bet you're right; don't.",
         [57, 5248, 2090, 357, 506, 732, 502, 3543, 1137, 42, 392, 3060, 963, 28, 339, 6737, 666, 346,
          2316, 1048, 43, 1326, 982, 30]),
        ("CAPS'S 'S 'quoted' ''s ?'s",
         [33467, 67, 23, 67, 637, 67, 637, 385, 5036, 23, 10922, 99, 9148, 23, 99]),
        ("x\u{A0}y\u{3000}z\u{2028}w\u{85}v \u{1680}u",
         [104, 15442, 105, 12109, 218, 106, 321, 118, 103, 141, 223, 102, 216, 172, 244, 218, 101]),
        ("ctrl\u{1C}chars\u{1F} and \u{B}\u{C} vertical",
         [39673, 213, 33879, 215, 284, 216, 199, 200, 8681]),
        ("   leading three\n\n\n\ttabbed  \t trailing   ",
         [256, 2899, 1296, 16506, 197, 15999, 5776, 256, 197, 35079, 333]),
        ("Hello world! 123abc 4,567.89 \u{BD} \u{2154} \u{216B} \u{663}\u{664} \u{1D7D9}",
         [19556, 905, 17, 216, 33, 34, 35, 25276, 216, 36, 28, 37, 38, 39, 30, 40, 41, 216,
          16738, 216, 173, 223, 238, 216, 173, 223, 121, 216, 164, 113, 164, 114, 216, 23159, 249, 243]),
        ("emoji \u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467} flags \u{1F1EB}\u{1F1F7} and ZWJ, keycap 1\u{FE0F}\u{20E3}",
         [391, 33777, 15107, 235, 119, 321, 231, 10813, 235, 119, 321, 231, 10813, 235, 117, 13198, 15107, 225,
          121, 10813, 225, 132, 284, 1777, 71, 58, 28, 1646, 4600, 216, 33, 31752, 173, 221, 113]),
        ("mixed\u{65E5}\u{672C}\u{8A9E}text and \u{395}\u{3BB}\u{3BB}\u{3B7}\u{3BD}\u{3B9}\u{3BA}\u{3AC} with \u{120}\u{10A} literal",
         [35781, 23274, 115, 40993, 179, 120, 248, 2692, 284, 5664, 239, 17162, 17162, 25723, 11517, 12001, 21118, 26112,
          351, 24488, 250, 143, 228, 19620]),
        ("<image><image>x<end_of_utterance>y<|im_start|><|im_end|>",
         [49190, 49190, 104, 49279, 105, 1, 2]),
        ("<imag <image <fake_token_around_image<row_1_col_1>>",
         [44, 18788, 2067, 5028, 2067, 20970, 79, 8087, 79, 17862, 79, 5028, 49153, 46]),
        (String(repeating: "a", count: 300) + " " + String(repeating: "ab", count: 150),
         [46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880,
          46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880,
          46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880,
          46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880, 46880,
          46880, 46880, 46880, 453, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369,
          369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369,
          369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369,
          369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369,
          369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369,
          369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369,
          369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369,
          369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369, 369,
          369, 369, 369, 369, 369, 369, 369, 369, 369]),
        (String(repeating: " ", count: 40) + String(repeating: "\n", count: 7) + "end",
         [12427, 353, 22342, 1116, 198, 486]),
        ("e\u{301} combining \u{F1} \u{FB01} ligature",
         [85, 151, 219, 9301, 5549, 126, 40367, 13042, 906]),
        ("",
         []),
        (" ",
         [216]),
        ("\n",
         [198]),
        ("'",
         [23]),
        ("?!... ---- ++ ** // \\\\ ||",
         [17593, 2026, 216, 586, 1232, 27, 1903, 13241, 28372, 14669]),
        ("tab\tafter\t\tdouble",
         [15999, 197, 9110, 197, 197, 21414]),
        ("don't 'tis 've'll'd'm's't're",
         [12420, 982, 637, 34818, 637, 307, 3060, 6737, 5248, 506, 982, 2316]),
    ]

    static let byteLevelOnly: [(text: String, ids: [Int])] = [
        ("Numbers 1234567 and 3.14159",
         [39006, 216, 33, 34, 35, 36, 37, 38, 39, 284, 216, 35, 30, 33, 36, 33, 37, 41]),
        ("hello world<image>again 12 x",
         [28120, 905, 49190, 24775, 216, 33, 34, 1792]),
        ("  two spaces<image> after",
         [216, 827, 5600, 49190, 990]),
        ("a1b22c333 d",
         [81, 33, 82, 34, 34, 83, 35, 35, 35, 287]),
    ]

    static let byteLevelWithPrefixSpace: [(text: String, ids: [Int])] = [
        ("Numbers 1234567 and 3.14159",
         [20254, 216, 33, 34, 35, 36, 37, 38, 39, 284, 216, 35, 30, 33, 36, 33, 37, 41]),
        ("hello world<image>again 12 x",
         [33662, 905, 49190, 1163, 216, 33, 34, 1792]),
        ("  two spaces<image> after",
         [216, 827, 5600, 49190, 990]),
        ("a1b22c333 d",
         [253, 33, 82, 34, 34, 83, 35, 35, 35, 287]),
    ]

    static let contiguousDigitsWithPrefixSpace: [(text: String, ids: [Int])] = [
        ("Numbers 1234567 and 3.14159",
         [20254, 216, 216, 33, 34, 35, 36, 37, 38, 39, 284, 216, 216, 35, 1673, 216, 33, 36,
          33, 37, 41]),
        ("hello world<image>again 12 x",
         [33662, 905, 49190, 1163, 216, 216, 33, 34, 1792]),
        ("  two spaces<image> after",
         [216, 827, 5600, 49190, 990]),
        ("a1b22c333 d",
         [253, 216, 33, 278, 216, 34, 34, 265, 216, 35, 35, 35, 287]),
    ]

    static let individualDigitsWithoutRegex: [(text: String, ids: [Int])] = [
        ("Numbers 1234567 and 3.14159",
         [39006, 216, 33, 34, 35, 36, 37, 38, 39, 284, 216, 35, 30, 33, 36, 33, 37, 41]),
        ("hello world<image>again 12 x",
         [28120, 905, 49190, 24775, 216, 33, 34, 1792]),
        ("  two spaces<image> after",
         [216, 827, 5600, 49190, 990]),
        ("a1b22c333 d",
         [81, 33, 82, 34, 34, 83, 35, 35, 35, 287]),
    ]
}

final class TokenizerEdgeCaseTests: XCTestCase {
    func testEdgeCasesMatchHuggingFace() throws {
        let tokenizer = try smolVLMTokenizer()
        for (text, ids) in HuggingFaceReference.smolVLM {
            XCTAssertEqual(tokenizer.encode(text), ids, text.debugDescription)
            // Byte-level BPE is lossless.
            XCTAssertEqual(tokenizer.decode(ids), text, text.debugDescription)
        }
    }

    /// The same vocabulary with the pre-tokenizer replaced, loaded from a rewritten tokenizer.json.
    func testPreTokenizerVariantsMatchHuggingFace() throws {
        let original = try requireShared(SharedFiles.smolVLMTokenizerJSON)
        // Splice the new pre_tokenizer into the text; re-serialising all 3.5 MB would be slow.
        let text = try String(contentsOfFile: original, encoding: .utf8)
        let start = try XCTUnwrap(text.range(of: "\"pre_tokenizer\":")).lowerBound
        let end = try XCTUnwrap(text.range(of: "\"post_processor\":")).lowerBound
        func byteLevel(prefixSpace: Bool, regex: Bool) -> [String: Any] {
            ["type": "ByteLevel", "add_prefix_space": prefixSpace, "trim_offsets": true, "use_regex": regex]
        }
        func sequence(individualDigits: Bool, _ byteLevel: [String: Any]) -> [String: Any] {
            ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": individualDigits], byteLevel]]
        }
        let variants: [(name: String, preTokenizer: [String: Any], cases: [(text: String, ids: [Int])])] = [
            ("ByteLevel", byteLevel(prefixSpace: false, regex: true), HuggingFaceReference.byteLevelOnly),
            ("ByteLevel with prefix space", byteLevel(prefixSpace: true, regex: true), HuggingFaceReference.byteLevelWithPrefixSpace),
            ("contiguous Digits, ByteLevel with prefix space",
             sequence(individualDigits: false, byteLevel(prefixSpace: true, regex: true)),
             HuggingFaceReference.contiguousDigitsWithPrefixSpace),
            ("individual Digits, ByteLevel without regex",
             sequence(individualDigits: true, byteLevel(prefixSpace: false, regex: false)),
             HuggingFaceReference.individualDigitsWithoutRegex),
        ]
        let path = scratchDirectory() + "/tokenizer.json"
        for variant in variants {
            let preTokenizer = try String(decoding: JSONSerialization.data(withJSONObject: variant.preTokenizer), as: UTF8.self)
            let variantText = text.replacingCharacters(in: start..<end, with: "\"pre_tokenizer\": \(preTokenizer),\n  ")
            try variantText.write(toFile: path, atomically: false, encoding: .utf8)
            let tokenizer = try BPETokenizer(tokenizerJSON: path)
            for (text, ids) in variant.cases {
                XCTAssertEqual(tokenizer.encode(text), ids, "\(variant.name): \(text.debugDescription)")
            }
        }
    }

    /// A hand-made vocabulary where every merge is visible: ranks decide, not lengths or ids.
    func testMergesApplyByRankOnATinyVocabulary() throws {
        // The 256 byte characters first, so every byte has a token.
        var vocabulary = (0..<256).map { byte -> String in
            let bytes = [UInt8(byte)]
            return tinyByteToken(bytes)
        }
        let extra = ["ab", "bc", "abc", "ĠĠ", "ĠĠĠĠ"]
        vocabulary += extra
        // "b c" outranks "a b", so "abc" becomes a + bc and the "ab c" merge never applies.
        let merges = ["b c", "a b", "ab c", "Ġ Ġ", "ĠĠ ĠĠ"]
        let tokenizer = try BPETokenizer(vocabulary: vocabulary, merges: merges,
                                         addedTokens: [(id: 300, content: "<sep>", special: true)], splitDigits: false)
        let id = { (token: String) in try XCTUnwrap(tokenizer.id(for: token)) }
        XCTAssertEqual(tokenizer.encode("abc"), [try id("a"), try id("bc")])
        XCTAssertEqual(tokenizer.encode("ab"), [try id("ab")])
        // Five spaces before a letter: a run of four, then " a".
        XCTAssertEqual(tokenizer.encode("     a"), [try id("ĠĠĠĠ"), try id("Ġ"), try id("a")])
        XCTAssertEqual(tokenizer.encode("ab<sep>bc"), [try id("ab"), 300, try id("bc")])
        XCTAssertEqual(tokenizer.vocabularySize, 301)
        XCTAssertNil(tokenizer.token(for: 299))
        XCTAssertEqual(tokenizer.decode([try id("ab"), 299, 300, 12345, -4]), "ab<sep>")
        XCTAssertEqual(tokenizer.decode([300], skipSpecialTokens: true), "")
    }

    /// GPT-2's byte alphabet, written out independently of the library for the tiny vocabulary.
    private func tinyByteToken(_ bytes: [UInt8]) -> String {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        var substitute = 256
        var table: [Int: Int] = [:]
        for byte in 0..<256 {
            if printable.contains(byte) { table[byte] = byte } else { table[byte] = substitute; substitute += 1 }
        }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar(UInt32(table[Int($0)]!))! }))
    }

    /// Byte-level decoding joins bytes before UTF-8: a character split over tokens survives,
    /// and a lone continuation byte becomes U+FFFD.
    func testDecodingJoinsBytesBeforeUTF8() throws {
        let tokenizer = try smolVLMTokenizer()
        let ids = tokenizer.encode("🚚")
        XCTAssertGreaterThan(ids.count, 1)
        XCTAssertEqual(tokenizer.decode(ids), "🚚")
        // Hugging Face gives the same: [10813, 244, 244] are F0 9F | 9A | 9A.
        XCTAssertEqual(ids, [10813, 244, 244])
        XCTAssertEqual(tokenizer.decode(Array(ids.dropFirst())), "\u{FFFD}\u{FFFD}")
        XCTAssertEqual(tokenizer.decode(Array(ids.prefix(1))), "\u{FFFD}")
        XCTAssertEqual(tokenizer.decode([]), "")
        XCTAssertEqual(ids.map { tokenizer.bytes(of: $0) }, [[0xF0, 0x9F], [0x9A], [0x9A]])
        XCTAssertEqual(tokenizer.bytes(of: 49190), Array("<image>".utf8))
        XCTAssertEqual(tokenizer.bytes(of: 49280), [])
    }
}

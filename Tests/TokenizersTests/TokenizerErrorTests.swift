import Foundation
import TestSupport
import Tokenizers
import XCTest

/// Bad input files give one-line errors that name the file and the problem.
final class TokenizerErrorTests: XCTestCase {
    /// A small valid tokenizer.json: ASCII letters, space as "Ġ", one merge.
    private func validRoot() -> [String: Any] {
        var vocab: [String: Int] = ["Ġ": 0]
        for (offset, letter) in "abcdefghijklmnopqrstuvwxyz".enumerated() { vocab[String(letter)] = offset + 1 }
        vocab["ab"] = 27
        return [
            "version": "1.0",
            "added_tokens": [["id": 28, "content": "<eos>", "special": true, "normalized": false,
                              "lstrip": false, "rstrip": false, "single_word": false]],
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "vocab": vocab, "merges": ["a b"]],
        ]
    }

    private func write(_ root: [String: Any], name: String = "tokenizer.json", _ caller: String = #function) throws -> String {
        let path = scratchDirectory(caller) + "/" + name
        try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func assertLoadFails(_ path: String, mentioning fragment: String, line: UInt = #line) {
        XCTAssertThrowsError(try BPETokenizer(tokenizerJSON: path), line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(error is TokenizerError, message, line: line)
            XCTAssertTrue(message.hasPrefix(path + ": "), message, line: line)
            XCTAssertTrue(message.contains(fragment), "\"\(message)\" lacks \"\(fragment)\"", line: line)
            XCTAssertFalse(message.contains("\n"), message, line: line)
        }
    }

    private func assertLoadFails(after change: (inout [String: Any]) -> Void, mentioning fragment: String,
                                 line: UInt = #line, _ caller: String = #function) throws {
        var root = validRoot()
        change(&root)
        assertLoadFails(try write(root, caller), mentioning: fragment, line: line)
    }

    func testTheSmallValidFileLoads() throws {
        let tokenizer = try BPETokenizer(tokenizerJSON: write(validRoot()))
        XCTAssertEqual(tokenizer.encode("ab c<eos>"), [27, 0, 3, 28])  // "ab", "Ġ", "c"... "Ġc" is not a merge
        XCTAssertEqual(tokenizer.decode([27, 0, 3, 28], skipSpecialTokens: true), "ab c")
    }

    func testMissingEmptyAndNonJSONFiles() throws {
        let directory = scratchDirectory()
        assertLoadFails(directory + "/absent/tokenizer.json", mentioning: "no such file")
        assertLoadFails(directory, mentioning: "is a directory")
        let empty = directory + "/empty.json"
        try Data().write(to: URL(fileURLWithPath: empty))
        assertLoadFails(empty, mentioning: "file is empty")
        let truncated = directory + "/truncated.json"
        try Data(#"{"model": {"type": "BPE", "vocab": {"a": 0"#.utf8).write(to: URL(fileURLWithPath: truncated))
        assertLoadFails(truncated, mentioning: "not valid JSON")
        let array = directory + "/array.json"
        try Data("[1, 2]".utf8).write(to: URL(fileURLWithPath: array))
        assertLoadFails(array, mentioning: "top level is not a JSON object")
    }

    func testUnsupportedPipelinesAreRejected() throws {
        try assertLoadFails(after: { $0["pre_tokenizer"] = ["type": "Metaspace", "replacement": "▁"] },
                            mentioning: "pre_tokenizer [Metaspace]")
        try assertLoadFails(after: {
            $0["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [["type": "ByteLevel"], ["type": "Digits"]]]
        }, mentioning: "pre_tokenizer [ByteLevel, Digits]")
        try assertLoadFails(after: { $0["pre_tokenizer"] = NSNull() }, mentioning: "a missing pre_tokenizer")
        try assertLoadFails(after: { $0["normalizer"] = ["type": "NFC"] }, mentioning: "normalizer \"NFC\"")
        try assertLoadFails(after: { $0["decoder"] = ["type": "WordPiece"] }, mentioning: "decoder \"WordPiece\"")
        try assertLoadFails(after: {
            $0["post_processor"] = ["type": "TemplateProcessing",
                                    "single": [["SpecialToken": ["id": "<eos>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]]]
        }, mentioning: "adds special tokens")
        try assertLoadFails(after: { $0["model"] = ["type": "WordPiece", "vocab": ["a": 0]] },
                            mentioning: "model type \"WordPiece\"")
        try assertLoadFails(after: { root in
            var model = root["model"] as! [String: Any]
            model["byte_fallback"] = true
            root["model"] = model
        }, mentioning: "model.byte_fallback = true")
        try assertLoadFails(after: { root in
            var tokens = root["added_tokens"] as! [[String: Any]]
            tokens[0]["lstrip"] = true
            root["added_tokens"] = tokens
        }, mentioning: "added token \"<eos>\" with lstrip = true")
    }

    func testInconsistentVocabularyAndMergesAreRejected() throws {
        try assertLoadFails(after: { $0["model"] = nil }, mentioning: "has no \"model\" object")
        try assertLoadFails(after: { root in
            var model = root["model"] as! [String: Any]
            model["merges"] = ["a z", "x y"]
            root["model"] = model
        }, mentioning: "merge 0 \"a z\" uses \"az\", which is not in the vocabulary")
        try assertLoadFails(after: { root in
            var model = root["model"] as! [String: Any]
            model["merges"] = [["a", "b", "c"]]
            root["model"] = model
        }, mentioning: "model.merges[0] is neither a [left, right] pair nor a \"left right\" string")
        try assertLoadFails(after: { root in
            var model = root["model"] as! [String: Any]
            model["vocab"] = ["a": "zero"]
            root["model"] = model
        }, mentioning: "model.vocab[\"a\"] is not an integer id")
        try assertLoadFails(after: { root in
            var model = root["model"] as! [String: Any]
            model["merges"] = [["a", "b"]]
            root["model"] = model
            root["added_tokens"] = [["content": "<x>"]]
        }, mentioning: "added_tokens[0] lacks an integer \"id\"")
    }

    func testArrayInitializerNamesItsSource() {
        XCTAssertThrowsError(try BPETokenizer(vocabulary: ["a", "b", "ab"], merges: ["a b", "ab"],
                                              addedTokens: [], splitDigits: true, source: "/models/x.gguf")) { error in
            XCTAssertEqual("\(error)", "/models/x.gguf: merge 1 \"ab\" is not two tokens separated by one space")
        }
        XCTAssertThrowsError(try BPETokenizer(vocabulary: ["a", "b"], merges: ["a b"],
                                              addedTokens: [], splitDigits: true, source: "/models/x.gguf")) { error in
            XCTAssertEqual("\(error)", "/models/x.gguf: merge 0 \"a b\" uses \"ab\", which is not in the vocabulary")
        }
        XCTAssertThrowsError(try BPETokenizer(vocabulary: [], merges: [], addedTokens: [], splitDigits: false,
                                              source: "/models/x.gguf")) { error in
            XCTAssertEqual("\(error)", "/models/x.gguf: the vocabulary is empty")
        }
    }
}

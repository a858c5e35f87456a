import Artifacts
import Foundation
import TestSupport
import Tokenizers
import XCTest

/// SmolVLM's real tokenizer.json against the ids and texts Hugging Face produced (parity.h5).
final class SmolVLMTokenizerParityTests: XCTestCase {
    func testEveryTokenizerCaseEncodesAndDecodesExactly() throws {
        let tokenizer = try smolVLMTokenizer()
        let file = try openShared(SharedFiles.smolVLMParity)
        let cases = try file.members(ofGroup: "/tokenizer").filter { $0.hasPrefix("case_") }
        XCTAssertEqual(cases.count, 14)
        for name in cases {
            let group = "/tokenizer/\(name)"
            let text = try file.readString("\(group)/text")
            let ids = try file.readIDs("\(group)/ids")
            XCTAssertEqual(tokenizer.encode(text), ids, name)
            let tokensJSON = try file.readString("\(group)/tokens_json")
            let tokens = try JSONSerialization.jsonObject(with: Data(tokensJSON.utf8)) as? [String]
            XCTAssertEqual(tokenizer.encodeToTokens(text), tokens, name)
            XCTAssertEqual(tokenizer.decode(ids), try file.readString("\(group)/decoded"), name)
            XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true),
                           try file.readString("\(group)/decoded_skip_special"), name)
        }
    }

    func testSpecialTokenIDsMatchTheBundleAttributes() throws {
        let tokenizer = try smolVLMTokenizer()
        let file = try openShared(SharedFiles.smolVLMParity)
        let json = try XCTUnwrap(file.attributeString("special_token_ids_json", at: "/tokenizer"))
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Int])
        for (token, id) in expected {
            XCTAssertEqual(tokenizer.id(for: token), id, token)
            XCTAssertEqual(tokenizer.token(for: id), token)
        }
        let allSpecialJSON = try XCTUnwrap(file.attributeString("all_special_ids_json", at: "/tokenizer"))
        for id in try XCTUnwrap(JSONSerialization.jsonObject(with: Data(allSpecialJSON.utf8)) as? [Int]) {
            XCTAssertTrue(tokenizer.isSpecialToken(id), "id \(id)")
        }
        XCTAssertFalse(tokenizer.isSpecialToken(7813))  // "car"
        XCTAssertEqual(tokenizer.vocabularySize, 49280)
        XCTAssertEqual(tokenizer.token(for: 1116), "ĊĊ")
        XCTAssertNil(tokenizer.token(for: 49280))
        XCTAssertNil(tokenizer.token(for: -1))
    }

    /// The processor's expanded prompt (878 and 83 ids): checks `\n\n` → 1116 and the image-token layout.
    func testExpandedPromptsTokenizeToTheProcessorInputIDs() throws {
        let tokenizer = try smolVLMTokenizer()
        let file = try openShared(SharedFiles.smolVLMParity)
        for (group, length) in [("/split_on", 878), ("/split_off", 83)] {
            let expanded = try file.readString("\(group)/expanded_prompt_text")
            let inputIDs = try file.readIDs("\(group)/input_ids")
            XCTAssertEqual(inputIDs.count, length)
            XCTAssertEqual(tokenizer.encode(expanded), inputIDs, group)
            XCTAssertEqual(tokenizer.decode(inputIDs), expanded, group)
        }
    }

    /// Generated ids cut a multi-byte character, so the reference text holds U+FFFD.
    func testGeneratedIDsDecodeAsAWholeList() throws {
        let tokenizer = try smolVLMTokenizer()
        let file = try openShared(SharedFiles.smolVLMParity)
        for group in ["/split_on", "/split_off"] {
            let ids = try file.readIDs("\(group)/generated_ids")
            XCTAssertEqual(tokenizer.decode(ids), try file.readString("\(group)/generated_text"), group)
            XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true),
                           try file.readString("\(group)/generated_text_skip_special"), group)
        }
        let splitOn = try tokenizer.decode(file.readIDs("/split_on/generated_ids"))
        XCTAssertTrue(splitOn.unicodeScalars.contains("\u{FFFD}"))
    }

    /// The split-on prompt, with its 878 image and text tokens, encodes to exactly that many.
    func testExpandedPromptEncodesToItsTokenCount() throws {
        let tokenizer = try smolVLMTokenizer()
        let expanded = try openShared(SharedFiles.smolVLMParity).readString("/split_on/expanded_prompt_text")
        XCTAssertEqual(tokenizer.encode(expanded).count, 878)
    }
}

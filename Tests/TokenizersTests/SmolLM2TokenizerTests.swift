import Artifacts
import Foundation
import TestSupport
import Tokenizers
import XCTest

/// SmolLM2's GGUF tokenizer is SmolVLM's vocabulary without ids 49152 and up; checked both
/// through SmolVLM's tokenizer.json and through the GGUF-style array initializer.
final class SmolLM2TokenizerTests: XCTestCase {
    /// What a GGUF reader passes: tokens by id, "left right" merges, CONTROL ids 0..16 as special.
    private func ggufStyleTokenizer() throws -> BPETokenizer {
        let vocabPath = try requireShared(SharedFiles.smolVLMVocabJSON)
        let mergesPath = try requireShared(SharedFiles.smolVLMMergesTxt)
        let vocab = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: vocabPath))) as? [String: Int])
        var tokens = [String](repeating: "", count: vocab.count)
        for (token, id) in vocab { tokens[id] = token }
        let merges = try String(contentsOfFile: mergesPath, encoding: .utf8)
            .split(separator: "\n").dropFirst().map(String.init)  // first line is "#version: 0.2"
        XCTAssertEqual(merges.count, 48900)
        let controlTokens = (0...16).map { (id: $0, content: tokens[$0], special: true) }
        return try BPETokenizer(vocabulary: tokens, merges: merges, addedTokens: controlTokens,
                                splitDigits: true, source: mergesPath)
    }

    func testPromptsEncodeToTheReferenceInputIDs() throws {
        let file = try openShared(SharedFiles.smolLM2Parity)
        let tokenizers = [("SmolVLM tokenizer.json", try smolVLMTokenizer()), ("GGUF-style arrays", try ggufStyleTokenizer())]
        for prompt in try file.members(ofGroup: "/prompts") {
            let text = try file.readString("/prompts/\(prompt)/prompt_text")
            let inputIDs = try file.readIDs("/prompts/\(prompt)/input_ids")
            for (name, tokenizer) in tokenizers {
                XCTAssertEqual(tokenizer.encode(text), inputIDs, "\(prompt) with \(name)")
                XCTAssertEqual(tokenizer.decode(inputIDs), text, "\(prompt) with \(name)")
            }
        }
    }

    func testTokenizerRelationCasesMatchTheSmolLMPreTokenizer() throws {
        let file = try openShared(SharedFiles.smolLM2Parity)
        let tokenizers = [("SmolVLM tokenizer.json", try smolVLMTokenizer()), ("GGUF-style arrays", try ggufStyleTokenizer())]
        let cases = try file.members(ofGroup: "/tokenizer_relation/cases")
        XCTAssertEqual(cases.count, 7)
        for name in cases {
            let group = "/tokenizer_relation/cases/\(name)"
            let text = try file.readString("\(group)/text")
            let ids = try file.readIDs("\(group)/ids_smollm_pretokenizer")
            for (tokenizerName, tokenizer) in tokenizers {
                XCTAssertEqual(tokenizer.encode(text), ids, "\(name) with \(tokenizerName)")
            }
        }
    }

    func testGreedyTextDecodesFromGreedyIDs() throws {
        let file = try openShared(SharedFiles.smolLM2Parity)
        let tokenizer = try ggufStyleTokenizer()
        for prompt in try file.members(ofGroup: "/prompts") {
            let ids = try file.readIDs("/prompts/\(prompt)/greedy_ids")
            XCTAssertEqual(tokenizer.decode(ids), try file.readString("/prompts/\(prompt)/greedy_text"), prompt)
            XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true),
                           try file.readString("/prompts/\(prompt)/greedy_text_skip_special"), prompt)
        }
    }

    /// Without SmolVLM's extra added tokens, `<image>` is ordinary text for SmolLM2.
    func testGGUFStyleTokenizerTreatsSmolVLMTokensAsText() throws {
        let gguf = try ggufStyleTokenizer()
        let smolVLM = try smolVLMTokenizer()
        XCTAssertEqual(gguf.vocabularySize, 49152)
        XCTAssertEqual(smolVLM.encode("<image>"), [49190])
        let ids = gguf.encode("<image>")
        XCTAssertGreaterThan(ids.count, 1)
        XCTAssertTrue(ids.allSatisfy { $0 < 49152 })
        XCTAssertEqual(gguf.decode(ids), "<image>")
        XCTAssertEqual(gguf.encode("<|im_start|>user"), [1, 4093])
        XCTAssertTrue(gguf.isSpecialToken(2))
    }
}

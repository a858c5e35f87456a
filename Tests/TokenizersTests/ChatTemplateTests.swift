import Artifacts
import Foundation
import TestSupport
import Tokenizers
import XCTest

final class ChatTemplateTests: XCTestCase {
    /// Messages as stored in the bundles' `messages_json` (content a list of items, or a string).
    private func messages(fromJSON json: String) throws -> [ChatMessage] {
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        return try list.map { entry in
            let role = try XCTUnwrap(entry["role"] as? String)
            if let text = entry["content"] as? String { return ChatMessage(role: role, text: text) }
            let items = try XCTUnwrap(entry["content"] as? [[String: Any]])
            return ChatMessage(role: role, content: try items.map { item in
                switch item["type"] as? String {
                case "image": return .image
                case "text": return .text(try XCTUnwrap(item["text"] as? String))
                default: return try XCTUnwrap(nil as ChatContent?, "unexpected content item \(item)")
                }
            })
        }
    }

    func testSmolVLMTemplateFilesAreRecognisedAsIdefics3() throws {
        for path in [try requireShared(SharedFiles.smolVLMChatTemplateJSON), try requireShared(SharedFiles.smolVLMTokenizerConfigJSON)] {
            XCTAssertEqual(try ChatTemplate(jsonFile: path), .idefics3, path)
        }
    }

    func testEveryIdefics3RenderingMatches() throws {
        let file = try openShared(SharedFiles.smolVLMParity)
        let template = try ChatTemplate(jsonFile: requireShared(SharedFiles.smolVLMChatTemplateJSON))
        let names = try file.members(ofGroup: "/tokenizer/chat_template")
        let suffix = "__add_generation_prompt_True"
        let bases = names.filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }
        XCTAssertEqual(bases.count, 4)
        for base in bases {
            let json = try XCTUnwrap(file.attributeString("messages_json", at: "/tokenizer/chat_template/\(base)\(suffix)"))
            let conversation = try messages(fromJSON: json)
            for addGenerationPrompt in [true, false] {
                let name = "\(base)__add_generation_prompt_\(addGenerationPrompt ? "True" : "False")"
                XCTAssertEqual(try template.render(conversation, addGenerationPrompt: addGenerationPrompt),
                               try file.readString("/tokenizer/chat_template/\(name)"), name)
            }
        }
    }

    func testProcessorPromptTextsMatch() throws {
        let file = try openShared(SharedFiles.smolVLMParity)
        let question = [ChatMessage(role: "user", content: [.image, .text("List all the objects in this image.")])]
        let prompt = try ChatTemplate.idefics3.render(question, addGenerationPrompt: true)
        for group in ["/split_on", "/split_off"] {
            XCTAssertEqual(prompt, try file.readString("\(group)/prompt_text"), group)
        }
    }

    func testGGUFTemplateIsRecognisedAsChatMLWithSmolLMSystemPrompt() throws {
        let file = try openShared(SharedFiles.smolLM2Parity)
        let source = try file.readString("/tokenizer_relation/gguf_chat_template")
        let template = try ChatTemplate(jinjaSource: source, source: "gguf tokenizer.chat_template")
        XCTAssertEqual(template, .chatML(defaultSystem: ChatTemplate.smolLM2DefaultSystem))
        XCTAssertEqual(template.jinjaSource, source)
    }

    func testChatMLPromptTextsMatch() throws {
        let file = try openShared(SharedFiles.smolLM2Parity)
        let template = ChatTemplate.chatML(defaultSystem: ChatTemplate.smolLM2DefaultSystem)
        let prompts = try file.members(ofGroup: "/prompts")
        XCTAssertEqual(prompts.count, 3)
        for prompt in prompts {
            let conversation = try messages(fromJSON: file.readString("/prompts/\(prompt)/messages_json"))
            XCTAssertEqual(try template.render(conversation, addGenerationPrompt: true),
                           try file.readString("/prompts/\(prompt)/prompt_text"), prompt)
        }
    }

    /// Written from the Jinja source: an explicit system turn replaces the default one.
    func testChatMLKeepsAGivenSystemTurn() throws {
        let template = ChatTemplate.chatML(defaultSystem: "Default.")
        let conversation = [ChatMessage(role: "system", text: "You are helpful."), ChatMessage(role: "user", text: "Hi!")]
        XCTAssertEqual(try template.render(conversation, addGenerationPrompt: false),
                       "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n")
        XCTAssertEqual(try template.render([], addGenerationPrompt: true), "<|im_start|>assistant\n")
    }

    func testMessagesATemplateCannotRenderAreErrors() {
        XCTAssertThrowsError(try ChatTemplate.chatML(defaultSystem: "x").render(
            [ChatMessage(role: "user", content: [.image])], addGenerationPrompt: true)) { error in
            XCTAssertEqual("\(error)", "chat template: message 0 (user) holds an image, which ChatML cannot place")
        }
        XCTAssertThrowsError(try ChatTemplate.idefics3.render(
            [ChatMessage(role: "user", content: [])], addGenerationPrompt: true)) { error in
            XCTAssertEqual("\(error)", "chat template: message 0 (user) has no content")
        }
    }

    func testUnknownTemplatesAreRejectedNamingTheSource() throws {
        let llamaStyle = "{% for message in messages %}[INST] {{ message['content'] }} [/INST]{% endfor %}"
        XCTAssertThrowsError(try ChatTemplate(jinjaSource: llamaStyle, source: "/models/x/tokenizer_config.json")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("/models/x/tokenizer_config.json: unknown chat template"), text)
            XCTAssertFalse(text.contains("\n"))
        }
        // A ChatML source whose system text holds a quote is not taken apart by guesswork.
        let quoted = ChatTemplate.chatML(defaultSystem: "It's me").jinjaSource
        XCTAssertThrowsError(try ChatTemplate(jinjaSource: quoted, source: "quoted"))

        let directory = scratchDirectory()
        let noTemplate = directory + "/chat_template.json"
        try Data(#"{"other": 1}"#.utf8).write(to: URL(fileURLWithPath: noTemplate))
        XCTAssertThrowsError(try ChatTemplate(jsonFile: noTemplate)) { error in
            XCTAssertEqual("\(error)", "\(noTemplate): has no \"chat_template\" string")
        }
    }
}

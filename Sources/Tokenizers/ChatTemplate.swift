import Foundation

/// One item of a chat message.
public enum ChatContent: Sendable, Equatable {
    case text(String)
    /// The place of an image; the Idefics3 template writes it as `<image>`.
    case image
}

public struct ChatMessage: Sendable, Equatable {
    /// "system", "user" or "assistant" (written as given by ChatML, capitalised by Idefics3).
    public var role: String
    public var content: [ChatContent]

    public init(role: String, content: [ChatContent]) {
        self.role = role
        self.content = content
    }

    /// A message holding one text item.
    public init(role: String, text: String) {
        self.init(role: role, content: [.text(text)])
    }
}

/// A chat message the chosen template cannot render (the Jinja original would fail or
/// produce something unusable for it).
public struct ChatTemplateError: Error, CustomStringConvertible, Equatable, Sendable {
    public let problem: String
    public var description: String { "chat template: \(problem)" }
}

/// The two chat-template families the project uses, rendered in Swift byte for byte as
/// their Jinja sources do (this is not a Jinja engine).
public enum ChatTemplate: Sendable, Equatable {
    /// SmolVLM / Idefics3: `<|im_start|>User:<image>text<end_of_utterance>\nAssistant:`.
    case idefics3
    /// SmolLM2's ChatML, which adds a system turn with `defaultSystem` when the first message is not one.
    case chatML(defaultSystem: String)

    /// SmolLM2's default system prompt (the GGUF's `tokenizer.chat_template`).
    public static let smolLM2DefaultSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    private static let idefics3Source =
        "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
        + "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
        + "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
        + "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
        + "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"

    private static let chatMLSourceBeforeSystem =
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        + "{{ '<|im_start|>system\n"
    private static let chatMLSourceAfterSystem =
        "<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
        + " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

    /// The Jinja source this case renders like.
    public var jinjaSource: String {
        switch self {
        case .idefics3:
            return Self.idefics3Source
        case .chatML(let defaultSystem):
            return Self.chatMLSourceBeforeSystem + defaultSystem + Self.chatMLSourceAfterSystem
        }
    }

    /// Recognises a Jinja chat template (e.g. `chat_template` of chat_template.json,
    /// tokenizer_config.json, or a GGUF's `tokenizer.chat_template`). Only the exact known
    /// sources are accepted (surrounding whitespace aside); `source` names where it came from.
    public init(jinjaSource: String, source: String) throws {
        let text = jinjaSource.trimmingWhitespace()
        if text == Self.idefics3Source {
            self = .idefics3
            return
        }
        if text.hasPrefix(Self.chatMLSourceBeforeSystem), text.hasSuffix(Self.chatMLSourceAfterSystem),
           text.count >= Self.chatMLSourceBeforeSystem.count + Self.chatMLSourceAfterSystem.count {
            let system = String(text.dropFirst(Self.chatMLSourceBeforeSystem.count)
                .dropLast(Self.chatMLSourceAfterSystem.count))
            // Quotes or escapes would make the Jinja string literal mean something else.
            if !system.contains("'") && !system.contains("\\") {
                self = .chatML(defaultSystem: system)
                return
            }
        }
        let start = text.prefix(60).replacingOccurrences(of: "\n", with: "\\n")
        throw TokenizerError(source: source,
                             "unknown chat template (neither SmolVLM/Idefics3 nor SmolLM2 ChatML), starting \"\(start)\"")
    }

    /// Reads the `chat_template` string of a JSON file (chat_template.json or tokenizer_config.json).
    public init(jsonFile path: String) throws {
        let root = try readJSONObject(at: path)
        guard let source = root["chat_template"] as? String else {
            throw TokenizerError(source: path, "has no \"chat_template\" string")
        }
        try self.init(jinjaSource: source, source: path)
    }

    /// The prompt text for `messages`, optionally ending with the assistant's turn opening.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String {
        var prompt = ""
        switch self {
        case .idefics3:
            prompt += "<|im_start|>"
            for (index, message) in messages.enumerated() {
                guard let first = message.content.first else {
                    throw ChatTemplateError(problem: "message \(index) (\(message.role)) has no content")
                }
                prompt += Self.capitalized(message.role)
                // No space after the colon when the turn opens with an image: "User:<image>".
                prompt += first == .image ? ":" : ": "
                for item in message.content {
                    switch item {
                    case .text(let text): prompt += text
                    case .image: prompt += "<image>"
                    }
                }
                prompt += "<end_of_utterance>\n"
            }
            if addGenerationPrompt { prompt += "Assistant:" }
        case .chatML(let defaultSystem):
            if let first = messages.first, first.role != "system" {
                prompt += "<|im_start|>system\n" + defaultSystem + "<|im_end|>\n"
            }
            for (index, message) in messages.enumerated() {
                prompt += "<|im_start|>" + message.role + "\n"
                for item in message.content {
                    guard case .text(let text) = item else {
                        throw ChatTemplateError(problem: "message \(index) (\(message.role)) holds an image, which ChatML cannot place")
                    }
                    prompt += text
                }
                prompt += "<|im_end|>\n"
            }
            if addGenerationPrompt { prompt += "<|im_start|>assistant\n" }
        }
        return prompt
    }

    /// Jinja's `capitalize`: first character upper case, the rest lower case.
    private static func capitalized(_ word: String) -> String {
        guard let first = word.first else { return word }
        return first.uppercased() + word.dropFirst().lowercased()
    }
}

private extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[start...last])
    }
}

/// A tokenizer or chat-template source that cannot be used: names the file (or other source) and
/// what is wrong with it, on one line.
public struct TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path the caller gave, or a short name of an in-memory source (e.g. a GGUF path).
    public let source: String
    public let problem: String

    public init(source: String, _ problem: String) {
        self.source = source
        // Messages are promised to be one line; JSON parser details can contain newlines.
        self.problem = problem.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    public var description: String { "\(source): \(problem)" }
}

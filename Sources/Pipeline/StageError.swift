/// A stage failure that is the input's fault, reported as one line naming the file.
public struct StageError: Error, CustomStringConvertible {
    public let file: String
    public let problem: String

    public init(_ file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}

/// One line for any error the libraries throw (they all name their file).
public func oneLine(_ error: Error) -> String {
    String(describing: error).split(separator: "\n", omittingEmptySubsequences: true).joined(separator: " ")
}

/// Bad input to the evaluation, one line: the file (or where the data came from) and the problem.
public struct EvaluationError: Error, Equatable, Sendable, CustomStringConvertible {
    public let source: String
    public let problem: String

    public init(_ source: String, _ problem: String) {
        self.source = source
        self.problem = problem
    }

    public var description: String { "\(source): \(problem)" }
}

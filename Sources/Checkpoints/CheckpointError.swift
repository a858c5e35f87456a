/// A checkpoint that cannot be read: names the file and what is wrong with it, on one line.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    /// What went wrong, for callers and tests that need more than the message.
    public enum Kind: Sendable, Equatable, CaseIterable {
        /// The file cannot be opened or is not a regular file.
        case unreadable
        /// A structure runs past the end of the file (an empty file too).
        case truncated
        /// A header announces a count, size or offset that no file (or no memory) can hold.
        case tooLarge
        /// Inconsistent structure: wrong signatures, bad values, overlapping data.
        case malformed
        /// Stored bytes do not match their recorded CRC-32.
        case checksumMismatch
        /// A valid feature this reader does not implement (compression, a dtype, a pickle global).
        case unsupported
        /// The model needs a tensor the file does not have.
        case missingTensor
        /// The file has a tensor the model does not have.
        case unexpectedTensor
        /// A tensor's shape is not the one the model needs.
        case wrongShape
    }

    public let path: String
    public let kind: Kind
    /// The tensor (or metadata key) at fault, when there is one.
    public let tensor: String?
    public let problem: String

    public init(path: String, kind: Kind = .malformed, tensor: String? = nil, problem: String) {
        self.path = path
        self.kind = kind
        self.tensor = tensor
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}

/// Formats a byte count or offset with thousands separators, e.g. 1,048,576.
func grouped<T: BinaryInteger>(_ value: T) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
        result.append(digit)
    }
    return value < 0 ? "-" + result : result
}

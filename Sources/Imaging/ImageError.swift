import Foundation

/// A failure to read or write an image file. `description` is one line: the path, then what is wrong.
public struct ImageError: Error, Equatable, CustomStringConvertible, LocalizedError {
    public enum Kind: Sendable, Equatable {
        case missing        // no such file
        case unreadable     // exists but cannot be opened or read (directory, permissions, I/O error)
        case empty          // zero bytes
        case notAnImage     // neither JPEG nor PNG by its magic bytes
        case corrupt        // damaged or truncated image data
        case unsupported    // a valid file in a layout this decoder cannot turn into RGB
        case tooLarge       // dimensions above the decode limit
        case invalidInput   // pixels that do not match the stated dimensions (writing)
        case writeFailed    // the file could not be written
    }

    public let path: String
    public let kind: Kind
    public let reason: String

    public init(path: String, kind: Kind, reason: String) {
        self.path = path
        self.kind = kind
        // Keep the message on one line whatever the C libraries put in it.
        self.reason = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    public var description: String { "\(path): \(reason)" }
    public var errorDescription: String? { description }
}

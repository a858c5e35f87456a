/// Every failure of the Artifacts library: one line naming the file and what is wrong with it.
public struct ArtifactError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Sendable, Equatable {
        case missingFile        // the path does not exist or is a directory
        case emptyFile          // zero bytes (typically an interrupted copy)
        case notHDF5            // no HDF5 signature
        case unreadable         // HDF5 signature present but the library cannot open or read it (truncated, corrupt)
        case missingObject      // dataset, group or required attribute absent
        case wrongType          // stored dtype or object kind differs from what the caller asked for
        case wrongShape         // dataset or attribute has an unexpected shape
        case invalidValue       // values outside their documented domain (NaN point, label 7, ...)
        case exceedsLimit       // an announced size is above ArtifactLimits (pixels, bytes of one dataset)
        case wrongSchema        // not an artifact of the expected schema
        case unsupportedVersion // schema version newer than this program knows
        case writeFailed        // creating, writing or committing failed
    }

    public let kind: Kind
    /// The path the caller gave (for a file being written: the final path, not the temporary one).
    public let file: String
    public let problem: String

    public init(_ kind: Kind, file: String, _ problem: String) {
        self.kind = kind
        self.file = file
        // Messages are promised to be one line; HDF5 details can contain newlines.
        self.problem = problem.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    public var description: String { "\(file): \(problem)" }
}

import Foundation

/// Writes one line to standard error (progress and errors; standard output stays clean).
public func report(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Reads a list file: one path per line; blank lines and lines starting with # are skipped.
public func readListFile(_ path: String) throws -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw StageError(path, "cannot read the list file")
    }
    return text.split(whereSeparator: \.isNewline)
        .map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty && !$0.hasPrefix("#") }
}

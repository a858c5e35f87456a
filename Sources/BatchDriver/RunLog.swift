import Foundation
import Pipeline

/// `OUT/run.jsonl`: one JSON object per line for every step of every photo (status, seconds,
/// why it ran, the error), appended by every run. Lines are written whole with O_APPEND, so
/// concurrent drivers interleave lines, never characters.
final class RunLog: @unchecked Sendable {
    private let descriptor: Int32
    private let lock = NSLock()

    init(path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        descriptor = open(path, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StageError(path, "cannot open the run log: \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(descriptor) }

    func write(_ fields: [String: Any]) {
        var record = fields
        record["time"] = ISO8601DateFormatter().string(from: Date())
        guard var line = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        line.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        _ = line.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
    }
}

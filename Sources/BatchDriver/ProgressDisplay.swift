import Foundation
import Pipeline

/// Progress on standard error: a redrawn bar with rate and ETA on a terminal, one line per
/// photo otherwise (logs, CI).
final class ProgressDisplay: @unchecked Sendable {
    private let total: Int
    private let start = Date()
    private let terminal = isatty(STDERR_FILENO) != 0
    private let lock = NSLock()
    private var finished = 0, failed = 0

    init(total: Int) {
        self.total = total
    }

    func photoFinished(_ photo: PhotoPipeline.PhotoReport, seconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        finished += 1
        if photo.error != nil { failed += 1 }
        let ran = photo.steps.filter { $0.status == .ran }.count, reused = photo.steps.filter { $0.status == .reused }.count
        let line = photo.error.map { "\(photo.photo): FAILED: \($0)" }
            ?? String(format: "%@: %d detections in %.1f s (%d steps run, %d reused)%@", photo.photo, photo.detections,
                      seconds, ran, reused, photo.note.map { " — \($0)" } ?? "")
        if terminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + "\n" + bar()).utf8))
        } else {
            report(String(format: "[%d/%d] ", finished, total) + line)
        }
    }

    func done() {
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    /// `[#####-----] 3/10 photos, 1 failed, 2.4 photos/min, ETA 3m05s`
    private func bar() -> String {
        let width = 30, filled = total > 0 ? width * finished / total : width
        let elapsed = Date().timeIntervalSince(start), rate = Double(finished) / max(elapsed, 1e-9) * 60
        let remaining = rate > 0 ? Double(total - finished) / rate * 60 : 0
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] " +
            "\(finished)/\(total) photos" + (failed > 0 ? ", \(failed) failed" : "") +
            String(format: ", %.1f photos/min, ETA %dm%02ds", rate, Int(remaining) / 60, Int(remaining) % 60)
    }
}

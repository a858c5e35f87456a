import Foundation

/// Locates `../shared` (the read-only reference data beside the checkout).
/// `VLSAM_SHARED` overrides the location. Returns nil when it is absent, so tests can skip.
public func sharedPath(_ relative: String) -> String? {
    let root: String
    if let env = ProcessInfo.processInfo.environment["VLSAM_SHARED"] {
        root = env
    } else {
        // Tests/TestSupport/SharedData.swift → package root → ../shared
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        root = packageRoot.deletingLastPathComponent().appendingPathComponent("shared").path
    }
    let path = (root as NSString).appendingPathComponent(relative)
    return FileManager.default.fileExists(atPath: path) ? path : nil
}

/// The message every test uses when it skips for lack of reference data.
public func missingShared(_ relative: String) -> String {
    "skipped: ../shared/\(relative) is absent (set VLSAM_SHARED to the shared data folder to run this test)"
}

/// A fresh scratch directory for one test.
public func scratchDirectory(_ name: String = #function) -> String {
    let dir = NSTemporaryDirectory() + "vlsam-tests-\(ProcessInfo.processInfo.processIdentifier)/" +
        name.filter { $0.isLetter || $0.isNumber }
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

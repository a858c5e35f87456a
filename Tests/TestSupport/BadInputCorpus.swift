import Foundation

/// A file of the bad-input artifact corpus, Tests/Fixtures/bad-input/artifacts (written by
/// scripts/make_bad_artifacts.py; every file but `*.good.h5` has exactly one defect).
public func badArtifactPath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/bad-input/artifacts/\(name)").path
}

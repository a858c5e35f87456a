import Artifacts
import Foundation
import XCTest

/// Committed test files in Tests/Fixtures/artifacts (outside the target folder so SwiftPM does not treat
/// them as unhandled resources; see make_h5py_fixture.py there).
func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/artifacts/\(name)").path
}

/// Asserts that `body` throws an ArtifactError of `kind` whose one-line message names `file` and contains `fragments`.
func assertArtifactError<T>(_ kind: ArtifactError.Kind, file: String, containing fragments: [String] = [],
                            _ body: () throws -> T, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an ArtifactError (\(kind)), nothing was thrown", line: line)
    } catch let error as ArtifactError {
        XCTAssertEqual(error.kind, kind, "\(error)", line: line)
        let message = error.description
        XCTAssertTrue(message.hasPrefix(file + ": "), "message does not start with the file: \(message)", line: line)
        XCTAssertFalse(message.contains("\n"), "message is not one line: \(message)", line: line)
        for fragment in fragments {
            XCTAssertTrue(message.contains(fragment), "message lacks \"\(fragment)\": \(message)", line: line)
        }
    } catch {
        XCTFail("expected an ArtifactError, got \(type(of: error)): \(error)", line: line)
    }
}

/// Runs an HDF5 command-line tool if installed; nil when it is not.
func runTool(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String)? {
    guard let directory = ["/usr/bin", "/usr/local/bin"].first(where: {
        FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
    }) else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "\(directory)/\(tool)")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

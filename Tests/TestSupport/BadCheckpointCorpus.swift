import Checkpoints
import Foundation
import XCTest

/// One file of the bad-input checkpoint corpus (Tests/Fixtures/bad-input/checkpoints, written by
/// scripts/make_bad_checkpoints.py) and how its loader must refuse it; `kind` is nil for the
/// valid bases, which must load.
public struct BadCheckpoint: Sendable {
    public let path: String
    /// "checkpoint" (loadCheckpoint), "safetensors", "sam" or "gguf-llama" (the model loaders).
    public let loader: String
    /// A `CheckpointError.Kind` case name.
    public let kind: String?
    /// The tensor or key the error must name.
    public let tensor: String?
    public let mentions: [String]

    public var name: String { (path as NSString).lastPathComponent }

    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/bad-input/checkpoints").path

    /// The corpus files a loader must handle, from the manifest.
    public static func corpus(loader: String) throws -> [BadCheckpoint] {
        let manifest = (directory as NSString).appendingPathComponent("manifest.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifest)))
        let cases = try XCTUnwrap((root as? [String: Any])?["cases"] as? [[String: Any]], "manifest.json has no cases")
        let selected = try cases.filter { $0["loader"] as? String == loader }.map { entry in
            BadCheckpoint(path: URL(fileURLWithPath: directory).appendingPathComponent(try XCTUnwrap(entry["file"] as? String))
                            .standardizedFileURL.path,
                          loader: loader, kind: entry["kind"] as? String, tensor: entry["tensor"] as? String,
                          mentions: entry["mentions"] as? [String] ?? [])
        }
        XCTAssertFalse(selected.isEmpty, "no \(loader) cases in \(manifest)")
        return selected
    }

    /// Loads the file with `load`: a valid base must load; any other file must be refused as
    /// the manifest says.
    public func check<T>(_ load: (String) throws -> T, file: StaticString = #filePath, line: UInt = #line) {
        guard let kind else {
            XCTAssertNoThrow(try load(path), "\(name) is a valid base and must load", file: file, line: line)
            return
        }
        guard let expected = CheckpointError.Kind.allCases.first(where: { "\($0)" == kind }) else {
            return XCTFail("\(name): the manifest's kind \(kind) is no CheckpointError.Kind", file: file, line: line)
        }
        assertRefusal(try load(path), path: path, kind: expected, tensor: tensor, mentioning: mentions, file: file, line: line)
    }
}

/// Asserts that `body` throws a one-line CheckpointError that names `path` first, is of `kind`,
/// names `tensor` (in its `tensor` field and its message) and mentions every fragment.
public func assertRefusal<T>(_ body: @autoclosure () throws -> T, path: String, kind: CheckpointError.Kind, tensor: String?,
                             mentioning fragments: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        guard let error = error as? CheckpointError else {
            return XCTFail("\(type(of: error)) instead of a CheckpointError: \(error)", file: file, line: line)
        }
        let message = error.description
        XCTAssertTrue(message.hasPrefix(path + ": "), "the message names the file: \(message)", file: file, line: line)
        XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
        XCTAssertEqual(error.kind, kind, message, file: file, line: line)
        XCTAssertEqual(error.tensor, tensor, message, file: file, line: line)
        for fragment in fragments + (tensor.map { [$0] } ?? []) {
            XCTAssertTrue(message.contains(fragment), "'\(fragment)' in: \(message)", file: file, line: line)
        }
    }
}

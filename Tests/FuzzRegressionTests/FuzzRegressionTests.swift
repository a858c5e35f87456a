import Foundation
import FuzzTargets
import TestSupport
import XCTest

/// The fuzzer's findings, replayed in the ordinary build: every input that once crashed a reader
/// (Tests/Fixtures/fuzz-regressions/TARGET/, see README "Fuzzing") must now be refused with a
/// one-line error that names the file.
final class FuzzRegressionTests: XCTestCase {
    private let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz-regressions").path

    func testEveryCrashInputIsRefusedWithAnError() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: regressions).sorted()
        var replayed = 0
        for folder in folders where !folder.hasSuffix(".md") {
            guard let target = FuzzTarget(rawValue: folder) else {
                XCTFail("fuzz-regressions/\(folder) names no fuzz target (\(FuzzTarget.allCases.map(\.rawValue)))")
                continue
            }
            for name in try FileManager.default.contentsOfDirectory(atPath: regressions + "/" + folder).sorted() {
                let path = regressions + "/" + folder + "/" + name
                XCTAssertThrowsError(try target.read(path: path), "\(folder)/\(name) was accepted") { error in
                    let message = "\(error)"
                    XCTAssertTrue(message.hasPrefix(path + ": "), "\(folder)/\(name): the error does not name the file: \(message)")
                    XCTAssertFalse(message.contains("\n"), "\(folder)/\(name): the error is not one line: \(message)")
                }
                replayed += 1
            }
        }
        XCTAssertGreaterThan(replayed, 0, "no regression inputs found under \(regressions)")
    }

    /// The artifact target's generated seeds are valid, each read by its own kind's reader only,
    /// so the fuzzer starts from files that get past every reader's checks.
    func testArtifactSeedsAreReadByTheirOwnKindOnly() throws {
        let paths = try writeArtifactSeeds(into: scratchDirectory())
        XCTAssertEqual(paths.count, 4)
        for path in paths {
            let kind = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            XCTAssertEqual(try readAnyArtifact(path), [kind], path)
        }
    }
}

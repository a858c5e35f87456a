import Foundation
import XCTest

/// Exit status and standard error of one run of a stage executable.
struct ToolRun {
    let status: Int32
    let stderr: String
}

/// Runs a stage executable as a user would; the executables sit beside the test bundle.
func runStage(_ tool: String, _ arguments: [String]) throws -> ToolRun {
    let bundle = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }
    let products = (bundle?.bundleURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).deletingLastPathComponent()
    let executable = products.appendingPathComponent(tool)
    guard FileManager.default.isExecutableFile(atPath: executable.path) else {
        throw XCTSkip("\(executable.path) is not built")
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let data = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ToolRun(status: process.terminationStatus, stderr: String(decoding: data, as: UTF8.self))
}

/// A failing run: non-zero exit, exactly one line on stderr ("tool: file: problem") naming `file`
/// and containing `fragments`, and nothing left behind: no output, no temporary file beside it.
@discardableResult
func assertFails(_ tool: String, _ arguments: [String], naming file: String, output: String, containing fragments: [String] = [],
                 line: UInt = #line) throws -> ToolRun {
    let result = try runStage(tool, arguments)
    XCTAssertEqual(result.status, 1, "exit status; stderr: \(result.stderr)", line: line)
    let lines = result.stderr.split(separator: "\n")
    XCTAssertEqual(lines.count, 1, "expected one error line, got: \(result.stderr)", line: line)
    XCTAssertTrue(result.stderr.hasPrefix("\(tool): "), "error does not start with the tool: \(result.stderr)", line: line)
    XCTAssertTrue(result.stderr.contains(file), "error does not name \(file): \(result.stderr)", line: line)
    for fragment in fragments {
        XCTAssertTrue(result.stderr.contains(fragment), "error lacks \"\(fragment)\": \(result.stderr)", line: line)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(output) was written", line: line)
    let directory = (output as NSString).deletingLastPathComponent
    let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.contains(".partial-") }
    XCTAssertEqual(leftovers, [], "temporary files left in \(directory)", line: line)
    return result
}

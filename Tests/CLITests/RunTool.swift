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

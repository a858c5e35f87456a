import Foundation
import XCTest

/// Runs `body` with an empty directory on its own tmpfs of `kilobytes` KiB, where writes fail with
/// "No space left on device" as on a full disk; unmounted afterwards. Mounting needs root (and a
/// system that allows it): otherwise the test is skipped, saying so.
public func withSmallFilesystem(kilobytes: Int = 64, _ name: String = #function, _ body: (String) throws -> Void) throws {
    guard geteuid() == 0 else {
        throw XCTSkip("skipped: a full disk is simulated with a small tmpfs, which only root can mount")
    }
    let directory = scratchDirectory(name) + "/full"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    guard try runCommand("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", directory]) == 0 else {
        throw XCTSkip("skipped: cannot mount a tmpfs at \(directory) (not allowed in this container?)")
    }
    defer { _ = try? runCommand("/bin/umount", [directory]) }
    try body(directory)
}

private func runCommand(_ executable: String, _ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

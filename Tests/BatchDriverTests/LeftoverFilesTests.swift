import BatchDriver
import Foundation
import TestSupport
import XCTest

/// Removing the temporary files of killed writers: only those whose process is gone.
final class LeftoverFilesTests: XCTestCase {
    /// The pid of a process that has exited (and been reaped).
    func deadPID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    func plant(_ path: String) {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("partial".utf8)), path)
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func testOnlyTheFilesOfGoneWritersAreRemoved() throws {
        let root = scratchDirectory()
        try? FileManager.default.removeItem(atPath: root)
        let layout = OutputLayout(root: root)
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["60"]
        try sleeper.run()
        defer { sleeper.terminate() }
        let dead = try deadPID(), me = getpid(), child = sleeper.processIdentifier
        let folder = layout.photoFolder("truck")

        let gone = [
            "\(folder)/.masks.0.h5.partial-\(dead)",
            "\(folder)/panels/.0_dog.png.partial-\(dead).Ab12Cd",
            "\(root)/.report.html.partial-\(dead).xYz123",
            "\(root)/.stamps/.encode.flags.partial-\(dead)",
        ]
        let live = [
            "\(folder)/.embedding.h5.partial-\(me)",
            "\(folder)/.overlay.png.partial-\(child).Qw12Er",
            "\(root)/.detections.json.partial-\(child).AAAAAA",
        ]
        // Not temporary files: the lock, other hidden files, a name whose pid is not a number, artifacts.
        let others = ["\(folder)/.lock", "\(folder)/.notes", "\(folder)/.x.h5.partial-12ab", "\(folder)/masks.0.h5",
                      "\(root)/.stamps/encode.flags"]
        for path in gone + live + others { plant(path) }
        // A file named with this process's pid but last written long before the process started:
        // the pid was reused, and the writer is gone.
        let reused = "\(folder)/.attention.h5.partial-\(me)"
        plant(reused)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: reused)

        let removed = LeftoverFiles.removeAll(in: layout)
        XCTAssertEqual(Set(removed.map { ($0 as NSString).standardizingPath }),
                       Set((gone + [reused]).map { ($0 as NSString).standardizingPath }))
        for path in gone + [reused] { XCTAssertFalse(exists(path), "\(path) is left") }
        for path in live + others { XCTAssertTrue(exists(path), "\(path) was removed") }
    }

    func testAPhotoFolderAnotherProcessHoldsIsLeftToIt() throws {
        let root = scratchDirectory()
        try? FileManager.default.removeItem(atPath: root)
        let layout = OutputLayout(root: root)
        let leftover = "\(layout.photoFolder("dog"))/.masks.1.h5.partial-\(try deadPID())"
        plant(leftover)
        // Held through a descriptor of its own: to flock, as good as another process.
        let descriptor = open(layout.lock("dog"), O_CREAT | O_RDWR, 0o644)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        XCTAssertEqual(flock(descriptor, LOCK_EX), 0)
        XCTAssertEqual(LeftoverFiles.removeAll(in: layout), [])
        XCTAssertTrue(exists(leftover))
        close(descriptor)
        XCTAssertEqual(LeftoverFiles.removeAll(in: layout).count, 1)
        XCTAssertFalse(exists(leftover))
    }
}

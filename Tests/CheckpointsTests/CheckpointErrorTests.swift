import Checkpoints
import Foundation
import TestSupport
import XCTest

/// Every bad input throws a one-line CheckpointError naming the file and the problem.
final class CheckpointErrorTests: XCTestCase {
    private func assertFails(_ path: String, mentioning fragments: [String],
                             loader: (String) throws -> StateDict = loadCheckpoint,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try loader(path), file: file, line: line) { error in
            let message = String(describing: error)
            XCTAssertTrue(error is CheckpointError, "\(type(of: error)): \(message)", file: file, line: line)
            XCTAssertTrue(message.hasPrefix(path + ": "), "names the file: \(message)", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(fragment)' in: \(message)", file: file, line: line)
            }
        }
    }

    func testMissingAndEmptyFiles() throws {
        assertFails(scratchDirectory() + "/absent.pth", mentioning: ["cannot open", "No such file"])
        assertFails(scratchDirectory(), mentioning: ["not a regular file"])
        let empty = try writeScratchFile("empty.pth", [])
        assertFails(empty, mentioning: ["empty file (0 bytes)"])
        assertFails(empty, mentioning: ["empty file"], loader: loadSafetensors)
        assertFails(empty, mentioning: ["empty file"], loader: loadPyTorchCheckpoint)
    }

    func testTruncatedRealCheckpoint() throws {
        let relative = "parity/sam-small/weights.pth"
        guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
        let bytes = try readBytes(path)
        // Cut inside a storage (about half way) and inside the central directory (near the end).
        let inStorage = try writeScratchFile("cut-in-storage.pth", Array(bytes.prefix(bytes.count / 2)))
        assertFails(inStorage, mentioning: ["truncated", "end-of-central-directory"])
        let inDirectory = try writeScratchFile("cut-in-directory.pth", Array(bytes.prefix(bytes.count - 5_000)))
        assertFails(inDirectory, mentioning: ["truncated", "end-of-central-directory"])
    }

    /// The central directory survives but a storage entry holds fewer bytes than its tensor needs.
    func testShortStorage() {
        assertFails(Fixtures.path("short_storage.pth"),
                    mentioning: ["truncated: storage 'data/0' needs 32 bytes but its zip entry holds 12"])
    }

    func testRandomBytesPngAndLegacyPickle() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let random = (0 ..< 4096).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        assertFails(try writeScratchFile("random.bin", random),
                    mentioning: ["not a PyTorch zip checkpoint or safetensors file"])
        let png = Fixtures.path("image.png")
        assertFails(png, mentioning: ["not a PyTorch zip checkpoint or safetensors file", "89 50 4E 47"])
        assertFails(png, mentioning: ["end-of-central-directory"], loader: loadPyTorchCheckpoint)
        let legacy = try writeScratchFile("legacy.pt", [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20])
        assertFails(legacy, mentioning: ["legacy"])
    }

    func testZipProblems() {
        assertFails(Fixtures.path("no_pickle.zip"), mentioning: ["data.pkl"])
        assertFails(Fixtures.path("compressed.pth"), mentioning: ["'archive/data.pkl' is compressed (method 8)"])
        assertFails(Fixtures.path("big_endian.pth"), mentioning: ["byte order 'big'"])
    }

    func testUnsupportedPickleGlobal() {
        assertFails(Fixtures.path("unknown_global.pth"), mentioning: ["unsupported pickle global 'argparse.Namespace'"])
    }

    func testSafetensorsPointingPastTheEnd() {
        let path = Fixtures.path("past_end.safetensors")
        assertFails(path, mentioning: ["truncated: tensor 'w' ends at byte 16"])
        assertFails(path, mentioning: ["truncated"], loader: loadSafetensors)
    }

    func testSafetensorsHeaderLongerThanFile() throws {
        var bytes: [UInt8] = [0xff, 0, 0, 0, 0, 0, 0, 0]
        bytes += Array("{\"w\":".utf8)
        assertFails(try writeScratchFile("short-header.safetensors", bytes), mentioning: ["header claims 255 bytes, more than the 13-byte file"])
    }

    /// A changed pickle byte is caught by the entry's CRC-32 before the pickle is run.
    func testChangedPickleByte() throws {
        var bytes = try readBytes(Fixtures.path("views.pth"))
        // data.pkl's data starts at byte 64 (torch aligns records); bytes 64-65 are PROTO 2.
        XCTAssertEqual(Array(bytes[64 ..< 66]), [0x80, 0x02])
        bytes[66] = 0xff
        assertFails(try writeScratchFile("bad-opcode.pth", bytes), mentioning: ["zip entry 'views/data.pkl' is corrupt: its CRC-32 is"])
    }

    /// Flipping any single byte of a valid checkpoint must give a result or a CheckpointError, never a crash.
    func testEverySingleByteCorruptionFailsCleanly() throws {
        let original = try readBytes(Fixtures.path("views.pth"))
        let path = try writeScratchFile("corrupt.pth", original)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var failures = 0
        for position in original.indices {
            try handle.seek(toOffset: UInt64(position))
            try handle.write(contentsOf: [original[position] ^ 0x5a])
            do {
                _ = try loadCheckpoint(path)
            } catch let error as CheckpointError {
                failures += 1
                XCTAssertTrue(error.description.hasPrefix(path + ": "))
            }
            try handle.seek(toOffset: UInt64(position))
            try handle.write(contentsOf: [original[position]])
        }
        XCTAssertGreaterThan(failures, 0)
    }
}

import Checkpoints
import Foundation
import XCTest

/// The real SmolLM2-135M-Instruct GGUF, fetched by `make fetch-smollm2` into downloads/.
enum SmolLM2GGUF {
    static let relativePath = "downloads/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

    /// The file's path, or an XCTSkip explaining how to get it.
    static func path() throws -> String {
        // Tests/CheckpointsTests/GGUFTestSupport.swift → package root
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = packageRoot.appendingPathComponent(relativePath).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("skipped: \(path) is absent (run `make fetch-smollm2` to download it)")
        }
        return path
    }

    /// Facts from ../shared/parity/smollm2-135m/parity.h5, copied by scripts/make_gguf_fixtures.py.
    static func expected() throws -> [String: Any] {
        guard let facts = try GGUFExpected.json()["smollm2"] as? [String: Any] else {
            throw XCTSkip("skipped: Fixtures/gguf_expected.json lacks the SmolLM2 facts (rerun scripts/make_gguf_fixtures.py with ../shared present)")
        }
        return facts
    }
}

/// Fixtures/gguf_expected.json, written by scripts/make_gguf_fixtures.py with numpy.
enum GGUFExpected {
    static func json() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("gguf_expected.json")))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func section(_ name: String) throws -> [String: Any] {
        try XCTUnwrap(try json()[name] as? [String: Any], "\(name) missing from gguf_expected.json")
    }
}

func floatArray(_ value: Any?) throws -> [Float] {
    try XCTUnwrap(value as? [NSNumber], "expected an array of numbers").map { Float($0.doubleValue) }
}

func intArray(_ value: Any?) throws -> [Int] {
    try XCTUnwrap(value as? [NSNumber], "expected an array of integers").map(\.intValue)
}

/// SHA-256 of the tensor's float32 values as little-endian bytes.
func sha256OfFloats(_ values: [Float]) -> String {
    var hasher = SHA256Hasher()
    values.withUnsafeBytes { hasher.update($0) }
    return hasher.hexDigest()
}

/// Asserts that `body` throws a one-line CheckpointError that names `path` and mentions every fragment.
func assertCheckpointError<T>(_ body: @autoclosure () throws -> T, path: String, mentioning fragments: [String],
                              file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        let message = String(describing: error)
        XCTAssertTrue(error is CheckpointError, "\(type(of: error)): \(message)", file: file, line: line)
        XCTAssertTrue(message.hasPrefix(path + ": "), "names the file: \(message)", file: file, line: line)
        XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(message.contains(fragment), "'\(fragment)' in: \(message)", file: file, line: line)
        }
    }
}

/// Writes small GGUF v3 files for error cases, byte by byte from the specification.
struct GGUFTestWriter {
    var metadata: [(key: String, type: UInt32, payload: [UInt8])] = []
    var tensors: [(name: String, type: UInt32, ne: [UInt64], data: [UInt8])] = []

    mutating func add(_ key: String, string value: String) {
        metadata.append((key, 8, Self.string(value)))
    }

    mutating func add(_ key: String, uint32 value: UInt32) {
        metadata.append((key, 4, Self.littleEndian(value)))
    }

    mutating func add(_ key: String, float32 value: Float) {
        metadata.append((key, 6, Self.littleEndian(value.bitPattern)))
    }

    mutating func add(_ key: String, strings values: [String]) {
        metadata.append((key, 9, Self.littleEndian(UInt32(8)) + Self.littleEndian(UInt64(values.count)) + values.flatMap(Self.string)))
    }

    mutating func add(_ key: String, uint8s values: [UInt8]) {
        metadata.append((key, 9, Self.littleEndian(UInt32(0)) + Self.littleEndian(UInt64(values.count)) + values))
    }

    mutating func addTensor(_ name: String, type: UInt32, ne: [UInt64], data: [UInt8]) {
        tensors.append((name, type, ne, data))
    }

    /// The file's bytes, with tensor data aligned to 32 bytes.
    func bytes() -> [UInt8] {
        var header = Array("GGUF".utf8) + Self.littleEndian(UInt32(3))
        header += Self.littleEndian(UInt64(tensors.count)) + Self.littleEndian(UInt64(metadata.count))
        for entry in metadata {
            header += Self.string(entry.key) + Self.littleEndian(entry.type) + entry.payload
        }
        var data: [UInt8] = []
        for tensor in tensors {
            header += Self.string(tensor.name) + Self.littleEndian(UInt32(tensor.ne.count))
            header += tensor.ne.flatMap { Self.littleEndian($0) }
            header += Self.littleEndian(tensor.type) + Self.littleEndian(UInt64(data.count))
            data += tensor.data + Array(repeating: 0, count: (32 - tensor.data.count % 32) % 32)
        }
        header += Array(repeating: 0, count: (32 - header.count % 32) % 32)
        return header + data
    }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    private static func string(_ text: String) -> [UInt8] {
        littleEndian(UInt64(text.utf8.count)) + Array(text.utf8)
    }
}

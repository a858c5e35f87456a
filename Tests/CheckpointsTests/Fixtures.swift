import Foundation
import XCTest
import TestSupport

/// The fixtures written by scripts/make_checkpoint_fixtures.py, with the values it computed.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static func path(_ name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }

    struct ExpectedTensor {
        let shape: [Int]
        let values: [Float]
    }

    struct ExpectedFile {
        let keys: [String]
        let tensors: [String: ExpectedTensor]
    }

    struct SpotValues {
        let shape: [Int]
        let head: [Float]
        let last: Float
        let sum: Double
    }

    struct ExpectedRealFile {
        let tensorCount: Int
        let parameterCount: Int
        let tensors: [String: SpotValues]
    }

    static func expected(_ file: String) throws -> ExpectedFile {
        let entry = try XCTUnwrap(try expectedJSON()[file] as? [String: Any], "\(file) missing from expected.json")
        let keys = try XCTUnwrap(entry["keys"] as? [String])
        let tensors = try XCTUnwrap(entry["tensors"] as? [String: [String: Any]])
        return ExpectedFile(keys: keys, tensors: try tensors.mapValues { tensor in
            ExpectedTensor(shape: try XCTUnwrap(tensor["shape"] as? [Int]),
                           values: try floats(tensor["values"]))
        })
    }

    static func expectedReal(_ relative: String) throws -> ExpectedRealFile {
        let entry = try XCTUnwrap(try expectedJSON()[relative] as? [String: Any],
                                  "\(relative) missing from expected.json: rerun scripts/make_checkpoint_fixtures.py with ../shared present")
        let tensors = try XCTUnwrap(entry["tensors"] as? [String: [String: Any]])
        return ExpectedRealFile(
            tensorCount: try XCTUnwrap(entry["tensor_count"] as? Int),
            parameterCount: try XCTUnwrap(entry["parameter_count"] as? Int),
            tensors: try tensors.mapValues { spot in
                SpotValues(shape: try XCTUnwrap(spot["shape"] as? [Int]), head: try floats(spot["head"]),
                           last: Float(try number(spot["last"])), sum: try number(spot["sum"]))
            })
    }

    private static func expectedJSON() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("expected.json")))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private static func floats(_ value: Any?) throws -> [Float] {
        try XCTUnwrap(value as? [Any]).map { Float(try number($0)) }
    }

    private static func number(_ value: Any?) throws -> Double {
        try XCTUnwrap((value as? NSNumber)?.doubleValue, "expected a number, got \(String(describing: value))")
    }
}

/// Writes `bytes` to a fresh file in the test's scratch directory and returns its path.
func writeScratchFile(_ name: String, _ bytes: [UInt8], test: String = #function) throws -> String {
    let path = (scratchDirectory(test) as NSString).appendingPathComponent(name)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

import Foundation
import XCTest

/// The files scripts/make_coco_eval_fixtures.py wrote (pycocotools' answers).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Numbers written as hex strings ("0x1.8p+1"): Foundation's JSON parser on Linux rounds some
    /// 17-digit decimals to a neighbouring double, hex strings are exact.
    static func doubles(_ value: Any?) throws -> [Double] {
        try XCTUnwrap(value as? [String], "expected a list of hex strings").map { try XCTUnwrap(Double($0), $0) }
    }

    static func doubleRows(_ value: Any?) throws -> [[Double]] {
        try XCTUnwrap(value as? [Any], "expected a list of lists").map(doubles)
    }

    /// A fixture JSON file as Foundation reads it (independently of the reader under test).
    static func json(_ name: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(name)))
    }
}

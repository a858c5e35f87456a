import XCTest

/// The one numeric comparison of this test target (to be replaced by the suite-wide helper in
/// TestSupport in this one place): err = max|mine − ref| / max|ref| must not exceed `tolerance`.
/// Empty input, a length mismatch and any non-finite value on either side fail. Returns err so
/// callers can report it.
@discardableResult
func assertClose<T: BinaryFloatingPoint>(_ mine: [T], _ reference: [Double], tolerance: Double, _ what: String,
                                         file: StaticString = #filePath, line: UInt = #line) -> Double {
    guard !mine.isEmpty, mine.count == reference.count else {
        XCTFail("\(what): \(mine.count) values against \(reference.count) reference values", file: file, line: line)
        return .infinity
    }
    if let bad = mine.firstIndex(where: { !$0.isFinite }) {
        XCTFail("\(what): non-finite value \(mine[bad]) at index \(bad)", file: file, line: line)
        return .infinity
    }
    if let bad = reference.firstIndex(where: { !$0.isFinite }) {
        XCTFail("\(what): non-finite reference value \(reference[bad]) at index \(bad)", file: file, line: line)
        return .infinity
    }
    var worst = 0, worstDifference = 0.0
    for (index, (a, b)) in zip(mine, reference).enumerated() where abs(Double(a) - b) > worstDifference {
        worst = index
        worstDifference = abs(Double(a) - b)
    }
    let scale = reference.map(abs).max()!
    let error = scale > 0 ? worstDifference / scale : worstDifference
    XCTAssertLessThanOrEqual(error, tolerance,
                             "\(what): max|mine − ref| / max|ref| = \(error) at index \(worst) (mine \(mine[worst]), ref \(reference[worst]))",
                             file: file, line: line)
    return error
}

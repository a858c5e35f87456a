import TensorMath
import XCTest

/// How far a result may be from its reference.
public enum Tolerance: CustomStringConvertible, Sendable {
    /// max|mine − ref| / max|ref| ≤ bound: the parity measure of every reference bundle.
    case relative(Double)
    /// max|mine − ref| ≤ bound.
    case absolute(Double)

    public var description: String {
        switch self {
        case .relative(let bound): return "relative \(bound)"
        case .absolute(let bound): return "absolute \(bound)"
        }
    }
}

/// Compares two flat arrays element by element and describes why they are not close enough,
/// or returns nil. Unlike a plain `max` loop (which drops NaN), it refuses any NaN or infinity
/// in either array, an empty array, and a length or shape mismatch, and names the worst element.
public func closenessProblem<Mine: BinaryFloatingPoint, Reference: BinaryFloatingPoint>(
    _ mine: [Mine], shape mineShape: [Int]? = nil, _ reference: [Reference], shape referenceShape: [Int]? = nil,
    _ tolerance: Tolerance
) -> String? {
    if let mineShape, let referenceShape, mineShape != referenceShape {
        return "shape \(mineShape) differs from the reference's \(referenceShape)"
    }
    guard mine.count == reference.count else { return "\(mine.count) values against the reference's \(reference.count)" }
    guard !mine.isEmpty else { return "no values to compare" }
    if let index = mine.firstIndex(where: { !$0.isFinite }) { return "non-finite value \(mine[index]) at index \(index)" }
    if let index = reference.firstIndex(where: { !$0.isFinite }) {
        return "the reference has a non-finite value \(reference[index]) at index \(index)"
    }
    var worst = 0, worstDifference = -1.0, largestReference = 0.0
    for i in mine.indices {
        let difference = abs(Double(mine[i]) - Double(reference[i]))
        if difference > worstDifference { worstDifference = difference; worst = i }
        largestReference = Swift.max(largestReference, abs(Double(reference[i])))
    }
    let error: Double, bound: Double
    switch tolerance {
    case .relative(let b): error = largestReference > 0 ? worstDifference / largestReference : worstDifference; bound = b
    case .absolute(let b): error = worstDifference; bound = b
    }
    guard error > bound else { return nil }
    return "error \(error) > \(tolerance); worst at index \(worst): \(mine[worst]) against \(reference[worst])"
}

/// Fails the test unless `mine` is close to `reference` (see `closenessProblem`).
public func assertClose<Mine: BinaryFloatingPoint, Reference: BinaryFloatingPoint>(
    _ mine: [Mine], _ reference: [Reference], _ tolerance: Tolerance, _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    if let problem = closenessProblem(mine, reference, tolerance) { XCTFail("\(what): \(problem)", file: file, line: line) }
}

/// Fails the test unless the tensors have the same shape and close values.
public func assertClose(_ mine: Tensor, _ reference: Tensor, _ tolerance: Tolerance, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
    if let problem = closenessProblem(mine.data, shape: mine.shape, reference.data, shape: reference.shape, tolerance) {
        XCTFail("\(what): \(problem)", file: file, line: line)
    }
}

/// Pixels where two masks of the same length differ; nil when the lengths differ or a mask is empty,
/// so a truncated or missing mask can never count as a match.
public func maskMismatches(_ mine: [UInt8], _ reference: [UInt8]) -> Int? {
    guard mine.count == reference.count, !mine.isEmpty else { return nil }
    var count = 0
    for i in mine.indices where mine[i] != reference[i] { count += 1 }
    return count
}

/// Fails unless the masks have the same length and differ in at most `bound` pixels.
public func assertMasksAgree(_ mine: [UInt8], _ reference: [UInt8], within bound: Int, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
    guard let mismatches = maskMismatches(mine, reference) else {
        XCTFail("\(what): mask of \(mine.count) pixels against the reference's \(reference.count)", file: file, line: line)
        return
    }
    XCTAssertLessThanOrEqual(mismatches, bound, "\(what): \(mismatches) pixels differ", file: file, line: line)
}

import TensorMath
import TestSupport
import XCTest

/// The suite's one comparison helper refuses what a `max` loop would let through.
final class ComparisonTests: XCTestCase {
    let reference: [Float] = [1, -2, 4, 0.5]

    func testAllNaNFails() {
        let problem = closenessProblem([Float](repeating: .nan, count: 4), reference, .relative(1))
        XCTAssertEqual(problem, "non-finite value nan at index 0")
    }

    func testSingleNaNOrInfinityFailsOnEitherSide() {
        XCTAssertEqual(closenessProblem([1, -2, .nan, 0.5] as [Float], reference, .relative(1)), "non-finite value nan at index 2")
        XCTAssertEqual(closenessProblem([1, -2, 4, .infinity] as [Float], reference, .absolute(1e9)),
                       "non-finite value inf at index 3")
        XCTAssertEqual(closenessProblem(reference, [1, .nan, 4, 0.5] as [Double], .relative(1)),
                       "the reference has a non-finite value nan at index 1")
    }

    func testLengthShapeAndEmptinessMismatchesFail() {
        XCTAssertEqual(closenessProblem(Array(reference.prefix(3)), reference, .relative(1)),
                       "3 values against the reference's 4")
        XCTAssertEqual(closenessProblem([Float](), [Float](), .relative(1)), "no values to compare")
        XCTAssertEqual(closenessProblem(reference, shape: [4], reference, shape: [2, 2], .relative(0)),
                       "shape [4] differs from the reference's [2, 2]")
        XCTAssertEqual(maskMismatches([1, 0], [1, 0, 0]), nil)
        XCTAssertEqual(maskMismatches([], []), nil)
        XCTAssertEqual(maskMismatches([1, 0, 1], [1, 1, 0]), 2)
    }

    func testReportsTheWorstElementAndHonoursTheBound() {
        let mine: [Float] = [1, -2, 4.4, 0.6]
        // Worst |difference| 0.4 at index 2; relative to max |ref| = 4 that is 0.1.
        XCTAssertNil(closenessProblem(mine, reference, .relative(0.1000001)))
        let problem = closenessProblem(mine, reference, .relative(0.05))
        XCTAssertTrue(problem?.hasPrefix("error 0.1000000") ?? false, problem ?? "nil")
        XCTAssertTrue(problem?.hasSuffix("worst at index 2: 4.4 against 4.0") ?? false, problem ?? "nil")
        XCTAssertNil(closenessProblem(mine, reference, .absolute(0.41)))
        XCTAssertNotNil(closenessProblem(mine, reference, .absolute(0.39)))
        XCTAssertEqual(Tensor(shape: [2], data: [.nan, 1]).relativeError(to: Tensor(shape: [2], data: [1, 1])), .infinity)
    }
}

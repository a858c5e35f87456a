import Foundation
import TensorMath
import TestSupport
import XCTest

final class VectorMathTests: XCTestCase {
    func testExpRelativeErrorOnWideRange() {
        let values = stride(from: -80.0, through: 80.0, by: 0.000_731).map { Float($0) }
        var x = Tensor(shape: [values.count], data: values)
        expInPlace(&x)
        // Relative error per element: the quotient of the results by exp itself is 1 within 2e-6.
        let ratios = zip(values, x.data).map { Double($1) / Foundation.exp(Double($0)) }
        assertClose(ratios, [Double](repeating: 1, count: ratios.count), .absolute(2e-6), "exp on [-80, 80]")
    }

    func testExpUnderflowsToZeroAndStaysFiniteAbove() {
        var x = Tensor(shape: [5], data: [-.infinity, -200, -88, 0, 100])
        expInPlace(&x)
        XCTAssertEqual(Array(x.data[0..<3]), [0, 0, 0])
        XCTAssertEqual(x.data[3], 1)
        XCTAssertTrue(x.data[4].isFinite && x.data[4] > 1e38, "exp(100) saturates at a finite value, got \(x.data[4])")
    }

    func testGELUMatchesErfDefinition() {
        let values = stride(from: -12.0, through: 12.0, by: 0.000_37).map { Float($0) }
        var x = Tensor(shape: [values.count], data: values)
        geluInPlace(&x)
        for (input, output) in zip(values, x.data) {
            let v = Double(input)
            let exact = 0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot()))
            let error = abs(Double(output) - exact)
            if error > 1e-6 * max(1, abs(v)) {
                XCTFail("gelu(\(input)) = \(output), expected \(exact)")
                return
            }
        }
    }

    func testReLU() {
        var x = Tensor(shape: [11], data: [-3, -0.5, 0, 0.5, 3, -1e30, 1e30, -2, 2, -7, 7])
        reluInPlace(&x)
        XCTAssertEqual(x.data, [0, 0, 0, 0.5, 3, 0, 1e30, 0, 2, 0, 7])
    }

    func testSoftmaxRowsSumToOneAndMatchDoubleReference() {
        // Widths below, at and above whole vectors, with tails; logits spread wide enough to need the max shift.
        for cols in [1, 3, 8, 13, 16, 100, 4099] {
            let rows = 5
            let x = randomTensor([rows, cols], in: -60...60, seed: UInt64(cols))
            let y = softmax(x)
            for r in 0..<rows {
                let row = x.data[r * cols ..< (r + 1) * cols].map(Double.init)
                let top = row.max()!
                let exps = row.map { Foundation.exp($0 - top) }
                let sum = exps.reduce(0, +)
                var total = 0.0
                for c in 0..<cols {
                    let got = Double(y.data[r * cols + c])
                    total += got
                    XCTAssertEqual(got, exps[c] / sum, accuracy: 2e-6 * max(exps[c] / sum, 1e-3), "cols \(cols) row \(r) col \(c)")
                }
                XCTAssertEqual(total, 1, accuracy: 1e-5, "cols \(cols) row \(r) sums to \(total)")
            }
        }
    }

    func testSoftmaxRowsHonoursStride() {
        let x = randomTensor([3, 10], in: -5...5, seed: 7)
        var strided = x
        // Softmax over the first 6 columns of each 10-wide row; the rest must stay untouched.
        strided.data.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rows: 3, cols: 6, stride: 10) }
        for r in 0..<3 {
            let expected = softmax(Tensor(shape: [6], data: Array(x.data[r * 10 ..< r * 10 + 6])))
            XCTAssertEqual(Array(strided.data[r * 10 ..< r * 10 + 6]), expected.data)
            XCTAssertEqual(Array(strided.data[r * 10 + 6 ..< r * 10 + 10]), Array(x.data[r * 10 + 6 ..< r * 10 + 10]))
        }
    }
}

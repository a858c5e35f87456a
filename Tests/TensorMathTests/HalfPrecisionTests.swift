import Foundation
import TensorMath
import TestSupport
import XCTest

/// 16-bit weights give exactly the results of their float32 widening, in every product path.
final class HalfPrecisionTests: XCTestCase {
    /// Random bit patterns of finite values of `format` (uniform in about ±2).
    func randomHalves(_ shape: [Int], _ format: HalfPrecisionTensor.Format, seed: UInt64) -> HalfPrecisionTensor {
        let values = randomTensor(shape, in: -2...2, seed: seed).data
        let bits = values.map { value -> UInt16 in
            switch format {
            case .bfloat16: return UInt16(value.bitPattern >> 16)
            case .float16: return Float16(value).bitPattern
            }
        }
        return HalfPrecisionTensor(format: format, shape: shape, bits: bits)
    }

    func testWideningIsExact() {
        // bfloat16 is the top half of a float32; float16 values, subnormals included, are exact floats.
        let brain = HalfPrecisionTensor(format: .bfloat16, shape: [1, 4], bits: [0x3F80, 0xC040, 0x0001, 0x7F80]).widened()
        XCTAssertEqual(brain.data, [1, -3, Float(bitPattern: 0x0001_0000), .infinity])
        let half = HalfPrecisionTensor(format: .float16, shape: [1, 5], bits: [0x3C00, 0xC200, 0x0001, 0x7BFF, 0x8400]).widened()
        XCTAssertEqual(half.data, [1, -3, 0x1p-24, 65504, -0x1p-14])
    }

    /// Shapes with a tail of columns after the last full vector and rows left over after the
    /// groups of four, through one token (the matrix–vector kernel) and several (sgemm).
    func testProductsAreBitIdenticalToTheWidenedMatrix() {
        for format in [HalfPrecisionTensor.Format.bfloat16, .float16] {
            for (rows, columns) in [(13, 70), (96, 576), (200, 33)] {
                let weight = randomHalves([rows, columns], format, seed: UInt64(rows * columns))
                let widened = weight.widened()
                for tokens in [1, 2, 7, 83] {
                    let x = randomTensor([tokens, columns], seed: UInt64(tokens))
                    let kept = projectSideBySide(x, [.halfPrecision(weight)])
                    XCTAssertEqual(kept.data.map(\.bitPattern), projectSideBySide(x, [.dense(widened)]).data.map(\.bitPattern),
                                   "\(format) \(rows)x\(columns), \(tokens) tokens")
                    // Not only the same as the float32 path: right.
                    let reference = (0 ..< tokens * rows).map { index -> Double in
                        let t = index / rows, r = index % rows
                        return (0 ..< columns).reduce(0.0) { $0 + Double(x.data[t * columns + $1]) * Double(widened.data[r * columns + $1]) }
                    }
                    XCTAssertLessThan(maxAbsoluteDifference(kept, reference), 1e-4, "\(format) \(rows)x\(columns), \(tokens) tokens")
                }
            }
        }
    }

    func testSideBySideAndBiasedProductsAreBitIdentical() {
        let first = randomHalves([40, 64], .bfloat16, seed: 1), second = randomHalves([24, 64], .float16, seed: 2)
        let dense = MatrixWeights.dense(randomTensor([8, 64], seed: 3))
        let bias = randomTensor([40], seed: 4)
        for tokens in [1, 5, 300] {
            let x = randomTensor([tokens, 64], seed: 5)
            XCTAssertEqual(projectSideBySide(x, [.halfPrecision(first), dense, .halfPrecision(second)]).data.map(\.bitPattern),
                           projectSideBySide(x, [.dense(first.widened()), dense, .dense(second.widened())]).data.map(\.bitPattern))
            XCTAssertEqual(MatrixWeights.halfPrecision(first).apply(to: x, bias: bias).data.map(\.bitPattern),
                           linear(x, weight: first.widened(), bias: bias).data.map(\.bitPattern))
        }
    }

    func testRowsAreLookedUpAndPermutedExactly() {
        let weight = randomHalves([6, 20], .bfloat16, seed: 9), widened = weight.widened()
        var row = [Float](repeating: 0, count: 20)
        MatrixWeights.halfPrecision(weight).copyRow(4, into: &row)
        XCTAssertEqual(row, Array(widened.data[80 ..< 100]))
        guard case .halfPrecision(let permuted) = MatrixWeights.halfPrecision(weight).permutingRows([5, 0, 3, 1, 2, 4]) else {
            return XCTFail("permuting kept no 16-bit matrix")
        }
        XCTAssertEqual(permuted.widened().data, [5, 0, 3, 1, 2, 4].flatMap { widened.data[$0 * 20 ..< ($0 + 1) * 20] })
    }
}

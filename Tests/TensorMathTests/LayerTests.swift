import Foundation
import TensorMath
import XCTest

final class LayerTests: XCTestCase {
    func naiveProduct(_ a: Tensor, _ b: Tensor, transA: Bool, transB: Bool) -> [Double] {
        let m = transA ? a.shape[1] : a.shape[0], k = transA ? a.shape[0] : a.shape[1]
        let n = transB ? b.shape[0] : b.shape[1]
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transA ? a.data[p * m + i] : a.data[i * k + p]
                    let y = transB ? b.data[j * k + p] : b.data[p * n + j]
                    sum += Double(x) * Double(y)
                }
                out[i * n + j] = sum
            }
        }
        return out
    }

    func testMatmulSplitAcrossThreadsMatchesNaiveProduct() {
        // Large enough to be split into row blocks (m ≥ n) or column blocks (n > m), edges not multiples of 16.
        for (m, n, k) in [(301, 211, 150), (133, 517, 170)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let a = randomTensor(transA ? [k, m] : [m, k], seed: UInt64(m + k))
                    let b = randomTensor(transB ? [n, k] : [k, n], seed: UInt64(n + k))
                    let c = matmul(a, b, transA: transA, transB: transB)
                    XCTAssertEqual(c.shape, [m, n])
                    XCTAssertLessThanOrEqual(maxAbsoluteDifference(c, naiveProduct(a, b, transA: transA, transB: transB)), 1e-4,
                                             "\(m)x\(n)x\(k) transA \(transA) transB \(transB)")
                }
            }
        }
    }

    func testLinearAndTranspose() {
        let x = randomTensor([37, 19], seed: 10), w = randomTensor([23, 19], seed: 11), b = randomTensor([23], seed: 12)
        let y = linear(x, weight: w, bias: b)
        var expected = naiveProduct(x, w, transA: false, transB: true)
        for i in 0..<expected.count { expected[i] += Double(b.data[i % 23]) }
        XCTAssertLessThanOrEqual(maxAbsoluteDifference(y, expected), 1e-5)

        let t = transpose2D(randomTensor([70, 45], seed: 13))
        let source = randomTensor([70, 45], seed: 13)
        XCTAssertEqual(t.shape, [45, 70])
        for r in 0..<70 { for c in 0..<45 { XCTAssertEqual(t.data[c * 70 + r], source.data[r * 45 + c]) } }
    }

    func testConv2dMatchesNaiveLoops() {
        let x = randomTensor([3, 11, 13], seed: 20)
        for (kernel, stride, padding) in [(3, 1, 1), (3, 2, 1), (2, 2, 0), (1, 1, 0), (4, 3, 2)] {
            let w = randomTensor([5, 3, kernel, kernel], seed: UInt64(30 + kernel)), b = randomTensor([5], seed: 40)
            let y = conv2d(x, weight: w, bias: b, stride: stride, padding: padding)
            let outH = (11 + 2 * padding - kernel) / stride + 1, outW = (13 + 2 * padding - kernel) / stride + 1
            XCTAssertEqual(y.shape, [5, outH, outW])
            var expected = [Double](repeating: 0, count: 5 * outH * outW)
            for o in 0..<5 {
                for oy in 0..<outH {
                    for ox in 0..<outW {
                        var sum = Double(b.data[o])
                        for c in 0..<3 {
                            for i in 0..<kernel {
                                for j in 0..<kernel {
                                    let iy = oy * stride + i - padding, ix = ox * stride + j - padding
                                    guard iy >= 0, iy < 11, ix >= 0, ix < 13 else { continue }
                                    sum += Double(w.data[((o * 3 + c) * kernel + i) * kernel + j]) * Double(x.data[(c * 11 + iy) * 13 + ix])
                                }
                            }
                        }
                        expected[(o * outH + oy) * outW + ox] = sum
                    }
                }
            }
            XCTAssertLessThanOrEqual(maxAbsoluteDifference(y, expected), 1e-5, "kernel \(kernel) stride \(stride) padding \(padding)")
        }
    }

    func testChainedSubPixelConvTransposesMatchNaiveScatter() {
        // Two chained layers on a 5x5 grid of 6 channels (token-major): 6 → 4 → 3 channels, 20x20 output.
        let side = 5, pixels = side * side
        let x = randomTensor([pixels, 6], seed: 50)
        let w1 = randomTensor([6, 4, 2, 2], seed: 51), b1 = randomTensor([4], seed: 52)
        let w2 = randomTensor([4, 3, 2, 2], seed: 53), b2 = randomTensor([3], seed: 54)
        let y = SubPixelConvTranspose2x2(weight: w2, bias: b2)(SubPixelConvTranspose2x2(weight: w1, bias: b1)(x, tokenMajor: true))
        XCTAssertEqual(y.shape, [16, 3, pixels])

        // Naive CHW transposed convolutions: output (2i + a, 2j + b) of channel o.
        func scatter(_ input: [Double], channels: Int, side: Int, weight: Tensor, bias: Tensor) -> [Double] {
            let outC = bias.count, outSide = 2 * side
            var out = [Double](repeating: 0, count: outC * outSide * outSide)
            for o in 0..<outC {
                for oy in 0..<outSide {
                    for ox in 0..<outSide {
                        var sum = Double(bias.data[o])
                        for c in 0..<channels {
                            sum += Double(weight.data[((c * outC + o) * 2 + oy % 2) * 2 + ox % 2])
                                * input[(c * side + oy / 2) * side + ox / 2]
                        }
                        out[(o * outSide + oy) * outSide + ox] = sum
                    }
                }
            }
            return out
        }
        var chw = [Double](repeating: 0, count: x.count)
        for p in 0..<pixels { for c in 0..<6 { chw[c * pixels + p] = Double(x.data[p * 6 + c]) } }
        let naive = scatter(scatter(chw, channels: 6, side: side, weight: w1, bias: b1), channels: 4, side: 2 * side,
                            weight: w2, bias: b2)

        // Pixel (4i + 2a + a′, 4j + 2b + b′) of channel o is pixel (i, j) of sub-grid 4(2a + b) + 2a′ + b′.
        var expected = [Double](repeating: 0, count: y.count)
        for grid in 0..<16 {
            let a = grid / 8, b = grid / 4 % 2, a2 = grid / 2 % 2, b2 = grid % 2
            for o in 0..<3 {
                for i in 0..<side {
                    for j in 0..<side {
                        expected[(grid * 3 + o) * pixels + i * side + j] =
                            naive[(o * 4 * side + 4 * i + 2 * a + a2) * 4 * side + 4 * j + 2 * b + b2]
                    }
                }
            }
        }
        XCTAssertLessThanOrEqual(maxAbsoluteDifference(y, expected), 1e-5)
    }

    func testProjectGELUIsAProductWithTheActivations() {
        let x = randomTensor([3, 5, 40], in: -4...4, seed: 56), bias = randomTensor([5], seed: 57)
        let weight = randomTensor([2, 5], seed: 58)
        let y = projectGELU(x, bias: bias, weight: weight)
        XCTAssertEqual(y.shape, [3, 2, 40])
        var expected = [Double](repeating: 0, count: y.count)
        for map in 0..<3 {
            for m in 0..<2 {
                for i in 0..<40 {
                    for r in 0..<5 {
                        let v = Double(x.data[(map * 5 + r) * 40 + i]) + Double(bias.data[r])
                        expected[(map * 2 + m) * 40 + i] += Double(weight.data[m * 5 + r]) * v * 0.5 * (1 + erf(v / 2.0.squareRoot()))
                    }
                }
            }
        }
        XCTAssertLessThanOrEqual(maxAbsoluteDifference(y, expected), 1e-5)
    }

    func testLayerNormOfASumEqualsLayerNormOfItsResult() {
        let x = randomTensor([7, 48], seed: 59), r = randomTensor([7, 48], seed: 60)
        let w = randomTensor([48], seed: 61), b = randomTensor([48], seed: 62)
        let fused = layerNorm(x, adding: r, weight: w, bias: b, eps: 1e-5)
        let separate = layerNorm(x + r, weight: w, bias: b, eps: 1e-5)
        XCTAssertEqual(fused.data, separate.data)
    }

    func testAddBroadcastsOverLeadingDimensions() {
        let a = randomTensor([5, 3, 7], seed: 90), row = randomTensor([7], seed: 91), same = randomTensor([5, 3, 7], seed: 92)
        let sum = a + row
        var inPlace = a
        addInPlace(&inPlace, same)
        for i in 0..<a.count {
            XCTAssertEqual(sum.data[i], a.data[i] + row.data[i % 7])
            XCTAssertEqual(inPlace.data[i], a.data[i] + same.data[i])
        }
        XCTAssertEqual(sum.shape, [5, 3, 7])
    }

    func testResizedRowsMatchStoredResize() {
        let x = randomTensor([2, 9, 13], seed: 100)
        for filter in [ResizeFilter.bilinear, .bicubic] {
            for (height, width) in [(20, 31), (9, 31), (5, 13)] {
                let stored = resize(x, height: height, width: width, filter: filter)
                var streamed = [Float](repeating: .nan, count: 2 * height * width)
                streamed.withUnsafeMutableBufferPointer { out in
                    forEachResizedRow(x, height: height, width: width, filter: filter) { plane, row, values in
                        XCTAssertEqual(values.count, width)
                        for i in 0..<width { out[(plane * height + row) * width + i] = values[i] }
                    }
                }
                XCTAssertEqual(streamed, stored.data, "\(filter) to \(height)x\(width)")
            }
        }
    }

    /// (x − mean)/√(var + eps)·w + b over `count` values `stride` apart starting at `start`, in double.
    func normalised(_ x: Tensor, start: Int, count: Int, stride: Int, eps: Double) -> [Double] {
        let values = (0..<count).map { Double(x.data[start + $0 * stride]) }
        let mean = values.reduce(0, +) / Double(count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(count)
        return values.map { ($0 - mean) / (variance + eps).squareRoot() }
    }

    func testLayerNormOverLastDimension() {
        let x = randomTensor([9, 37], in: -3...5, seed: 60), w = randomTensor([37], seed: 61), b = randomTensor([37], seed: 62)
        let y = layerNorm(x, weight: w, bias: b, eps: 1e-6)
        var expected = [Double](repeating: 0, count: x.count)
        for r in 0..<9 {
            for (i, v) in normalised(x, start: r * 37, count: 37, stride: 1, eps: 1e-6).enumerated() {
                expected[r * 37 + i] = v * Double(w.data[i]) + Double(b.data[i])
            }
        }
        XCTAssertLessThanOrEqual(maxAbsoluteDifference(y, expected), 1e-5)
    }

    func testLayerNorm2dOverChannelsOfEachPixel() {
        let x = randomTensor([13, 6, 7], in: -3...5, seed: 70), w = randomTensor([13], seed: 71), b = randomTensor([13], seed: 72)
        let y = layerNorm2d(x, weight: w, bias: b, eps: 1e-6)
        var expected = [Double](repeating: 0, count: x.count)
        for pixel in 0..<42 {
            for (c, v) in normalised(x, start: pixel, count: 13, stride: 42, eps: 1e-6).enumerated() {
                expected[c * 42 + pixel] = v * Double(w.data[c]) + Double(b.data[c])
            }
        }
        XCTAssertLessThanOrEqual(maxAbsoluteDifference(y, expected), 1e-5)
    }

    func testLayerNorm2dTreatsLeadingDimensionsAsSeparateMaps() {
        let x = randomTensor([2, 13, 6, 7], in: -3...5, seed: 73), w = randomTensor([13], seed: 74), b = randomTensor([13], seed: 75)
        let y = layerNorm2d(x, weight: w, bias: b, eps: 1e-6)
        var expected = [Double](repeating: 0, count: x.count)
        for map in 0..<2 {
            for pixel in 0..<42 {
                for (c, v) in normalised(x, start: map * 13 * 42 + pixel, count: 13, stride: 42, eps: 1e-6).enumerated() {
                    expected[(map * 13 + c) * 42 + pixel] = v * Double(w.data[c]) + Double(b.data[c])
                }
            }
        }
        XCTAssertLessThanOrEqual(maxAbsoluteDifference(y, expected), 1e-5)
    }

    func testSingleGroupNormOverChannelMajorMaps() {
        // Two maps of 3 channels: channel c's parameters apply to rows c and 3 + c.
        let x = randomTensor([2, 3, 15], in: -2...6, seed: 80), w = randomTensor([3], seed: 81), b = randomTensor([3], seed: 82)
        let y = singleGroupNorm(x, weight: w, bias: b, eps: 1e-5)
        let expected = normalised(x, start: 0, count: x.count, stride: 1, eps: 1e-5).enumerated().map { index, v in
            v * Double(w.data[index / 15 % 3]) + Double(b.data[index / 15 % 3])
        }
        XCTAssertLessThanOrEqual(maxAbsoluteDifference(y, expected), 1e-5)
    }

    func testParallelForVisitsEveryItemOnce() {
        var visits = [Int](repeating: 0, count: 1000)
        var workers = [Int](repeating: -1, count: 1000)
        visits.withUnsafeMutableBufferPointer { counts in
            workers.withUnsafeMutableBufferPointer { workerOf in
                parallelFor(1000) { worker, item in
                    counts[item] += 1
                    workerOf[item] = worker
                }
            }
        }
        XCTAssertEqual(visits, [Int](repeating: 1, count: 1000))
        XCTAssertTrue(workers.allSatisfy { (0..<computeThreads()).contains($0) })
    }
}

import TensorMath
import TestSupport
import XCTest

/// The integer matrix–vector kernels against a reference written out here in Double: ggml's
/// dequantised weights (decoded from the block bytes by this file, not by the kernels' code)
/// times the 8-bit activations, whose quantisation is checked on its own first.
final class QuantizedProductTests: XCTestCase {
    static let formats: [QuantizedMatrix.Format] = [.q4_0, .q4_1, .q8_0]

    /// Random blocks: float16 scales (and Q4_1 minimums) of either sign, codes of every value.
    func randomBlocks(_ format: QuantizedMatrix.Format, rows: Int, columns: Int, seed: UInt64) -> [UInt8] {
        var random = SeededGenerator(seed: seed)
        var bytes: [UInt8] = []
        for _ in 0 ..< rows * columns / 32 {
            for _ in 0 ..< (format == .q4_1 ? 2 : 1) {
                let bits = UInt16(random.next() & 1) << 15 | UInt16(9 + random.next() % 6) << 10 | UInt16(random.next() & 0x3FF)
                bytes += [UInt8(bits & 0xFF), UInt8(bits >> 8)]
            }
            bytes += (0 ..< (format == .q8_0 ? 32 : 16)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
        return bytes
    }

    /// ggml's dequantisation of the blocks, in Double.
    func dequantised(_ bytes: [UInt8], _ format: QuantizedMatrix.Format, count: Int) -> [Double] {
        func half(_ at: Int) -> Double { Double(Float16(bitPattern: UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8)) }
        var values: [Double] = []
        for block in 0 ..< count / 32 {
            let base = block * format.blockBytes, d = half(base)
            switch format {
            case .q4_0, .q4_1:
                let codes = bytes[(base + (format == .q4_1 ? 4 : 2))...].prefix(16)
                let nibbles = codes.map { Double($0 & 0xF) } + codes.map { Double($0 >> 4) }
                values += format == .q4_0 ? nibbles.map { ($0 - 8) * d } : nibbles.map { $0 * d + half(base + 2) }
            case .q8_0:
                values += bytes[(base + 2)...].prefix(32).map { Double(Int8(bitPattern: $0)) * d }
            }
        }
        return values
    }

    func randomVector(_ count: Int, seed: UInt64) -> [Float] {
        var random = SeededGenerator(seed: seed)
        // Blocks of different magnitudes, one of them all zero.
        return (0 ..< count).map { i -> Float in
            let magnitude = Float(1 + i / 32 % 3), value = Float(Int(random.next() % 20001) - 10000) / 1000
            return i / 32 == 1 ? 0 : value * magnitude
        }
    }

    func testActivationQuantisation() {
        let x = randomVector(160, seed: 3)
        let quantized = x.withUnsafeBufferPointer { BlockQuantizedVector($0.baseAddress!, count: x.count) }
        XCTAssertEqual(quantized.codes.count, 160)
        for block in 0 ..< 5 {
            let values = x[32 * block ..< 32 * (block + 1)], codes = quantized.codes[32 * block ..< 32 * (block + 1)]
            let largest = values.map(abs).max()!, d = quantized.scales[block]
            XCTAssertEqual(Double(d), Double(largest) / 127, accuracy: Double(largest) * 1e-7, "block \(block): d = max|x|/127")
            XCTAssertEqual(quantized.scaledSums[block], d * Float(codes.reduce(0) { $0 + Int32($1) }), "block \(block): d·Σq")
            XCTAssertEqual(codes.map { abs(Int($0)) }.max(), largest > 0 ? 127 : 0, "block \(block): the largest value gets ±127")
            for (value, code) in zip(values, codes) {
                XCTAssertLessThanOrEqual(abs(Double(code) * Double(d) - Double(value)), Double(d) / 2 * (1 + 1e-5) + 1e-30,
                                         "block \(block): \(value) → \(code) is the nearest code")
            }
        }
    }

    /// Every format, odd row counts, the rows split into ranges as threads split them, and the
    /// threaded side-by-side product: all equal the Double reference to 1e-5 of Σ|w·x̂|, and stay
    /// within the activation rounding's bound Σ|w|·d/2 of the float32 product. So do the kernels
    /// of the slower instruction sets this CPU also runs (plain C, AVX2).
    func testIntegerProductsMatchTheReference() {
        for (index, format) in Self.formats.enumerated() {
            for (rows, columns) in [(37, 96), (203, 1024)] {
                let bytes = randomBlocks(format, rows: rows, columns: columns, seed: UInt64(10 * index + rows))
                let matrix = QuantizedMatrix(format: format, rows: rows, columns: columns, copying: bytes)
                let weights = dequantised(bytes, format, count: rows * columns)
                let x = randomVector(columns, seed: UInt64(rows + columns))
                let quantized = x.withUnsafeBufferPointer { BlockQuantizedVector($0.baseAddress!, count: columns) }
                let activations = (0 ..< columns).map { Double(quantized.codes[$0]) * Double(quantized.scales[$0 / 32]) }

                var whole = [Float](repeating: .nan, count: rows), split = whole
                whole.withUnsafeMutableBufferPointer { matrix.multiplyRows(0 ..< rows, by: quantized, into: $0.baseAddress!) }
                split.withUnsafeMutableBufferPointer { y in
                    for range in [0 ..< 1, 1 ..< rows / 3, rows / 3 ..< rows] {
                        matrix.multiplyRows(range, by: quantized, into: y.baseAddress! + range.lowerBound)
                    }
                }
                let threaded = projectSideBySide(Tensor(shape: [1, columns], data: x), [.quantized(matrix)], activations: .blockInt8)
                let float32 = projectSideBySide(Tensor(shape: [1, columns], data: x), [.quantized(matrix)])
                let slower = QuantizedMatrix.InstructionSet.allCases.filter { $0 < .fastest }.map { instructions in
                    (instructions, [Float](unsafeUninitializedCapacity: rows) { y, count in
                        matrix.multiplyRows(0 ..< rows, by: quantized, into: y.baseAddress!, instructions: instructions)
                        count = rows
                    })
                }
                for row in 0 ..< rows {
                    let w = weights[row * columns ..< (row + 1) * columns]
                    let reference = zip(w, activations).reduce(0) { $0 + $1.0 * $1.1 }
                    let magnitude = zip(w, activations).reduce(0) { $0 + abs($1.0 * $1.1) }
                    let what = "\(format) \(rows)x\(columns) row \(row)"
                    XCTAssertEqual(Double(whole[row]), reference, accuracy: 1e-5 * magnitude + 1e-9, what)
                    XCTAssertEqual(split[row], whole[row], "\(what): split rows")
                    XCTAssertEqual(threaded.data[row], whole[row], "\(what): threaded")
                    let bound = w.indices.reduce(0) { $0 + abs(w[$1]) * Double(quantized.scales[($1 - w.startIndex) / 32]) / 2 }
                    XCTAssertEqual(Double(float32.data[row]), reference, accuracy: bound + 1e-5 * magnitude, "\(what): float32")
                    for (instructions, y) in slower {
                        XCTAssertEqual(Double(y[row]), reference, accuracy: 1e-5 * magnitude + 1e-9, "\(what): \(instructions) kernel")
                    }
                }
            }
        }
    }

    /// Reordered rows read the blocks of their source rows.
    func testPermutedRowsMultiplyAsTheirSources() {
        let bytes = randomBlocks(.q4_1, rows: 9, columns: 64, seed: 5)
        let matrix = QuantizedMatrix(format: .q4_1, rows: 9, columns: 64, copying: bytes)
        let order = [8, 0, 7, 1, 6, 2, 5, 3, 4]
        let permuted = matrix.permutingRows(order).permutingRows(Array((0 ..< 9).reversed()))
        let x = randomVector(64, seed: 6)
        let quantized = x.withUnsafeBufferPointer { BlockQuantizedVector($0.baseAddress!, count: 64) }
        var original = [Float](repeating: 0, count: 9), reordered = original
        original.withUnsafeMutableBufferPointer { matrix.multiplyRows(0 ..< 9, by: quantized, into: $0.baseAddress!) }
        reordered.withUnsafeMutableBufferPointer { permuted.multiplyRows(0 ..< 9, by: quantized, into: $0.baseAddress!) }
        XCTAssertEqual(reordered, order.reversed().map { original[$0] })
    }
}

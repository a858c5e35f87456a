import Checkpoints
import Foundation
import TensorMath
import TestSupport
import XCTest

/// Matrices kept in their GGUF blocks (Q4_0, Q4_1, Q8_0): dequantising them gives exactly what
/// `GGUFFile.tensor` (the ggml reference dequantiser) gives, and multiplying straight from the
/// blocks agrees with multiplying the dequantised float32 matrix.
final class GGUFQuantizedMatrixTests: XCTestCase {
    /// ggml type codes and block sizes.
    static let formats: [(name: String, type: UInt32, blockBytes: Int)] = [("Q4_0", 2, 18), ("Q4_1", 3, 20), ("Q8_0", 8, 34)]
    static let rows = 37, columns = 96

    /// Deterministic bytes (SplitMix64, from TestSupport).
    struct Bytes {
        var generator: SeededGenerator
        init(state: UInt64) { generator = SeededGenerator(seed: state) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
        /// A float16 bit pattern of either sign with magnitude in [2^-8, 2^1), or one time in ten
        /// a subnormal (or zero), whose widening to float32 takes another path.
        mutating func half() -> [UInt8] {
            let sign = UInt16(next() & 1) << 15, mantissa = UInt16(next() & 0x3FF)
            let exponent = next() % 10 == 0 ? 0 : UInt16(7 + next() % 9) << 10
            let bits = sign | exponent | mantissa
            return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
        }
        mutating func floats(_ count: Int) -> [Float] { (0..<count).map { _ in Float(Int(next() % 2001) - 1000) / 500 } }
    }

    /// A GGUF holding one random `rows`×`columns` matrix per format, plus an F32 one.
    func writeFile() throws -> String {
        var random = Bytes(state: 42)
        var writer = GGUFTestWriter()
        writer.add("general.architecture", string: "fixture")
        let blocks = Self.rows * Self.columns / 32
        for format in Self.formats {
            var data: [UInt8] = []
            for _ in 0..<blocks {
                data += random.half()  // d
                if format.name == "Q4_1" { data += random.half() }  // m
                let codeBytes = format.blockBytes - (format.name == "Q4_1" ? 4 : 2)
                data += (0..<codeBytes).map { _ in random.byte() }
            }
            writer.addTensor(format.name, type: format.type, ne: [UInt64(Self.columns), UInt64(Self.rows)], data: data)
        }
        let dense = random.floats(Self.rows * Self.columns)
        writer.addTensor("F32", type: 0, ne: [UInt64(Self.columns), UInt64(Self.rows)],
                         data: dense.withUnsafeBytes { Array($0) })
        writer.addTensor("cube", type: 8, ne: [32, 2, 2], data: Array(repeating: 0, count: 4 * 34))
        return try writeScratchFile("quantized.gguf", writer.bytes())
    }

    func testDequantisedBlocksEqualTheReferenceDequantiser() throws {
        let file = try GGUFFile(path: try writeFile())
        for format in Self.formats {
            let matrix = try XCTUnwrap(try file.quantizedMatrix(format.name), format.name)
            XCTAssertEqual([matrix.rows, matrix.columns], [Self.rows, Self.columns], format.name)
            let reference = try file.tensor(format.name)
            XCTAssertEqual(matrix.dequantized(), reference, "\(format.name) dequantises exactly as ggml")
            // Single rows (embedding lookups) too.
            var row = [Float](repeating: .nan, count: Self.columns)
            row.withUnsafeMutableBufferPointer { MatrixWeights.quantized(matrix).copyRow(5, into: $0.baseAddress!) }
            XCTAssertEqual(row, reference[5].data, "\(format.name) row 5")
        }
        XCTAssertNil(try file.quantizedMatrix("F32"), "float tensors are not quantised matrices")
    }

    func testProductsFromBlocksMatchDequantisedProducts() throws {
        let file = try GGUFFile(path: try writeFile())
        var random = Bytes(state: 7)
        for format in Self.formats {
            let matrix = try XCTUnwrap(try file.quantizedMatrix(format.name))
            let weights = MatrixWeights.quantized(matrix), reference = try file.tensor(format.name)
            for tokens in [1, 3, 130] {
                let x = Tensor(shape: [tokens, Self.columns], data: random.floats(tokens * Self.columns))
                let expected = matmul(x, reference, transB: true)
                let product = weights.apply(to: x)
                assertClose(product, expected, .relative(1e-5), "\(format.name), \(tokens) tokens")
            }
        }
    }

    /// Several matrices side by side (quantised and float32 mixed) equal the separate products.
    func testSideBySideProjections() throws {
        let file = try GGUFFile(path: try writeFile())
        var random = Bytes(state: 9)
        let matrices: [MatrixWeights] = [.quantized(try XCTUnwrap(try file.quantizedMatrix("Q4_1"))),
                                         .dense(try file.tensor("F32")),
                                         .quantized(try XCTUnwrap(try file.quantizedMatrix("Q8_0")))]
        for tokens in [1, 5] {
            let x = Tensor(shape: [tokens, Self.columns], data: random.floats(tokens * Self.columns))
            let together = projectSideBySide(x, matrices)
            XCTAssertEqual(together.shape, [tokens, 3 * Self.rows])
            for (index, matrix) in matrices.enumerated() {
                let part = TensorMath.columns(together, index * Self.rows, Self.rows)
                let alone = matrix.apply(to: x)
                assertClose(part, alone, .relative(1e-6), "matrix \(index), \(tokens) tokens")
            }
        }
    }

    func testPermutingRows() throws {
        let file = try GGUFFile(path: try writeFile())
        let order = (0..<Self.rows).map { ($0 * 5) % Self.rows }
        for name in ["Q4_0", "F32"] {
            let weights: MatrixWeights = name == "F32" ? .dense(try file.tensor(name)) : .quantized(try XCTUnwrap(try file.quantizedMatrix(name)))
            let reference = try file.tensor(name)
            let permuted = weights.permutingRows(order)
            for (row, source) in order.enumerated() {
                var values = [Float](repeating: .nan, count: Self.columns)
                values.withUnsafeMutableBufferPointer { permuted.copyRow(row, into: $0.baseAddress!) }
                XCTAssertEqual(values, reference[source].data, "\(name) row \(row)")
            }
        }
    }

    func testHigherRankTensorIsRejected() throws {
        let path = try writeFile()
        assertCheckpointError(try GGUFFile(path: path).quantizedMatrix("cube"), path: path,
                              mentioning: ["tensor 'cube' has ne [32, 2, 2], expected a matrix"])
    }
}

import CKernels

// Matrices kept in ggml's 32-element quantised blocks (Q4_0, Q4_1, Q8_0), read where they lie —
// in a GGUF file's mapping, block after block as ggml stores them — so holding a model costs no
// more memory than its file. Two kinds of product use the blocks:
//
// - matrix–vector with 8-bit activations (`multiplyRows`): the vector is quantised per block
//   (`BlockQuantizedVector`, llama.cpp's Q8_0 scheme) and each block's 32 weight codes are
//   multiplied with the vector's 32 codes in integers, then scaled once per block. This is
//   token-by-token decoding's kernel.
// - dequantising rows to float32 (`dequantizeRows`) for sgemm: prefill, and products that must
//   stay float32-exact.
//
// The integer products are C (Sources/CKernels): each block's dot product stays in 8 int32
// lanes (vpdpbusd with AVX-512 VNNI, vpmaddubsw + vpmaddwd with AVX2), scaled into 8 float
// lanes that are summed once per row. The instruction set is chosen at run time, so a binary
// built for any x86-64 uses the fastest its CPU has.

/// A [rows, columns] matrix of ggml quantised blocks, read in place. Element j of a block is
/// Q4_0: (q − 8)·d, Q4_1: q·d + m, Q8_0: q·d, with d and m float16 and q 4-bit unsigned (byte j
/// holds element j in its low nibble and j + 16 in its high one) or 8-bit signed.
public struct QuantizedMatrix: @unchecked Sendable {  // the blocks are read-only
    public static let blockLength = 32

    public enum Format: Sendable {
        case q4_0, q4_1, q8_0

        /// Bytes of one block: float16 d (and m for Q4_1), then the codes.
        public var blockBytes: Int {
            switch self {
            case .q4_0: return 18
            case .q4_1: return 20
            case .q8_0: return 34
            }
        }

        /// Where a block's codes start.
        var codeOffset: Int { self == .q4_1 ? 4 : 2 }

        /// Consecutive blocks (`blocks.count / blockBytes` of them) as float32, in storage order.
        public func dequantize(_ blocks: UnsafeRawBufferPointer, into destination: UnsafeMutablePointer<Float>) {
            guard let start = blocks.baseAddress else { return }
            for block in 0..<blocks.count / blockBytes {
                dequantizeBlock(start + block * blockBytes, into: destination + block * QuantizedMatrix.blockLength)
            }
        }

        /// One block's 32 values: multiply, then add, each rounded, as ggml dequantises (Swift
        /// never contracts the two into a fused multiply-add, which could differ in the last bit).
        @inline(__always)
        func dequantizeBlock(_ block: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
            let d = half(block, 0), codes = (block + codeOffset).assumingMemoryBound(to: UInt8.self)
            switch self {
            case .q4_0:
                for j in 0..<16 {
                    out[j] = Float(Int32(codes[j] & 0xF) - 8) * d
                    out[16 + j] = Float(Int32(codes[j] &>> 4) - 8) * d
                }
            case .q4_1:
                let m = half(block, 2)
                for j in 0..<16 {
                    out[j] = Float(codes[j] & 0xF) * d + m
                    out[16 + j] = Float(codes[j] &>> 4) * d + m
                }
            case .q8_0:
                for j in 0..<32 { out[j] = Float(Int8(bitPattern: codes[j])) * d }
            }
        }
    }

    public let format: Format
    public let rows: Int
    public let columns: Int
    /// Keeps `blocks` alive: the mapped file, or a copy this matrix owns.
    private let owner: AnyObject
    private let blocks: UnsafeRawPointer
    /// The stored row of each row when rows are reordered; empty when row r is stored row r.
    private let storedRows: [Int]

    var blocksPerRow: Int { columns / Self.blockLength }
    private var rowBytes: Int { blocksPerRow * format.blockBytes }

    /// A matrix over `rows · columns / 32` blocks at `blocks`, which `owner` keeps valid and
    /// unchanged for as long as it lives.
    public init(format: Format, rows: Int, columns: Int, blocks: UnsafeRawBufferPointer, owner: AnyObject) {
        precondition(columns % Self.blockLength == 0, "QuantizedMatrix: \(columns) columns is not a multiple of 32")
        precondition(blocks.count == rows * columns / Self.blockLength * format.blockBytes,
                     "QuantizedMatrix: \(blocks.count) bytes do not hold \(rows)x\(columns) in \(format)")
        self.init(format: format, rows: rows, columns: columns, owner: owner,
                  blocks: blocks.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, storedRows: [])
    }

    /// A matrix over a copy of `blocks` (ggml's block layout).
    public init(format: Format, rows: Int, columns: Int, copying blocks: [UInt8]) {
        let copy = OwnedBytes(blocks)
        self.init(format: format, rows: rows, columns: columns,
                  blocks: UnsafeRawBufferPointer(start: copy.bytes.baseAddress, count: blocks.count), owner: copy)
    }

    private init(format: Format, rows: Int, columns: Int, owner: AnyObject, blocks: UnsafeRawPointer, storedRows: [Int]) {
        self.format = format
        self.rows = rows
        self.columns = columns
        self.owner = owner
        self.blocks = blocks
        self.storedRows = storedRows
    }

    /// The matrix whose row i is this matrix's row `order[i]` (the blocks stay where they are).
    public func permutingRows(_ order: [Int]) -> QuantizedMatrix {
        precondition(order.count == rows && order.allSatisfy { (0..<rows).contains($0) }, "permutingRows: bad order")
        return QuantizedMatrix(format: format, rows: rows, columns: columns, owner: owner, blocks: blocks,
                               storedRows: storedRows.isEmpty ? order : order.map { storedRows[$0] })
    }

    /// The first block of row `row`.
    @inline(__always)
    private func rowStart(_ row: Int) -> UnsafeRawPointer {
        blocks + (storedRows.isEmpty ? row : storedRows[row]) * rowBytes
    }

    /// Rows `range` as float32, written row-major (`columns` apart) from `destination`.
    public func dequantizeRows(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        for row in range {
            let blockRow = rowStart(row), out = destination + (row - range.lowerBound) * columns
            for block in 0..<blocksPerRow {
                format.dequantizeBlock(blockRow + block * format.blockBytes, into: out + block * Self.blockLength)
            }
        }
    }

    /// The whole matrix as a float32 tensor [rows, columns].
    public func dequantized() -> Tensor {
        Tensor(shape: [rows, columns]) { dequantizeRows(0..<rows, into: $0.baseAddress!) }
    }

    /// The instruction sets `multiplyRows` has a kernel for, slowest first.
    public enum InstructionSet: Int, CaseIterable, Comparable, Sendable {
        case portable, avx2, avx512VNNI

        /// The fastest this CPU runs, chosen when the process starts.
        public static let fastest = InstructionSet(rawValue: Int(ck_fastest_instruction_set().rawValue))!

        public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    }

    /// y[r − range.lowerBound] = Σ_c W[r, c]·x̂[c] for r in `range`, x̂ being the 8-bit `x`: per
    /// block, the integer dot product of the codes scaled by d_w·d_x; Q4_0's −8 and Q4_1's m
    /// multiply the vector's d_x·Σq_x. The kernels are C (Sources/CKernels), one per instruction
    /// set; `instructions` (at most `.fastest`) picks one, for tests.
    public func multiplyRows(_ range: Range<Int>, by x: BlockQuantizedVector, into y: UnsafeMutablePointer<Float>,
                             instructions: InstructionSet = .fastest) {
        precondition(x.count == columns, "multiplyRows: vector of \(x.count) for \(columns) columns")
        precondition(instructions <= .fastest, "multiplyRows: this CPU lacks \(instructions)")
        let kernelFormat: CKBlockFormat = switch format {
        case .q4_0: CK_Q4_0
        case .q4_1: CK_Q4_1
        case .q8_0: CK_Q8_0
        }
        let set = CKInstructionSet(rawValue: UInt32(instructions.rawValue))
        x.withBlocks { codes, scales, scaledSums in
            storedRows.withUnsafeBufferPointer { order in
                ck_multiply_rows(set, kernelFormat, blocks.assumingMemoryBound(to: UInt8.self), rowBytes,
                                 order.isEmpty ? nil : order.baseAddress,
                                 range.lowerBound, range.count, blocksPerRow, codes, scales, scaledSums, y)
            }
        }
    }
}

/// The float16 at `offset` bytes into a block, widened (one vcvtph2ps with F16C).
@inline(__always)
private func half(_ block: UnsafeRawPointer, _ offset: Int) -> Float {
    Float16Elements.widen(UInt16(littleEndian: block.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// Bytes allocated for, and freed with, a matrix that owns its blocks.
private final class OwnedBytes {
    let bytes: UnsafeMutableRawBufferPointer

    init(_ source: [UInt8]) {
        bytes = .allocate(byteCount: max(source.count, 1), alignment: 64)
        source.withUnsafeBytes { bytes.copyMemory(from: $0) }
    }

    deinit { bytes.deallocate() }
}

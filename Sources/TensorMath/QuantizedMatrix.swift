// Matrices kept in ggml's 32-element quantised blocks (Q4_0, Q4_1, Q8_0), with kernels that
// compute on the blocks directly: a matrix–vector product widens each block's codes in registers
// and never writes float32 weights, which is what makes token-by-token decoding fast (the weights
// are read once per token, at 4.5–8.5 bits each instead of 32).
//
// The kernels are plain loops over a block's bytes that LLVM's loop vectoriser turns into
// byte-to-float widening and full-width vector arithmetic. Written with Swift's SIMD types
// instead, the unpacking is scalarised lane by lane and then badly re-vectorised once the
// target has AVX (four times slower).

typealias Float4 = SIMD4<Float>

/// A [rows, columns] matrix of 32-element blocks, each element `code · scale + offset` with an
/// unsigned code and one float16 scale and offset per block: ggml's Q4_0 (offset −8·d), Q4_1
/// (offset m) and Q8_0 (codes shifted by 128 into 0…255, offset −128·d). Code·scale and the
/// offset are exact in float32 for these formats, so dequantised values equal ggml's. Scales stay
/// float16 in memory (decoding is bandwidth-bound: float32 would add a sixth to Q4_1's bytes).
public struct QuantizedMatrix: Sendable {
    public static let blockLength = 32

    /// How a block's 32 codes are stored.
    public enum Codes: Sendable {
        /// 16 bytes of 4-bit codes: byte j holds element j in its low nibble and element j + 16
        /// in its high nibble (ggml's Q4_0/Q4_1 order).
        case nibbles
        /// 32 bytes, element j in byte j.
        case bytes

        public var bytesPerBlock: Int { self == .nibbles ? 16 : 32 }
    }

    /// Where each block's offset comes from.
    public enum Offsets: Sendable {
        /// Its own float16 bit pattern per block (Q4_1's minimum m).
        case perBlock([UInt16])
        /// A fixed multiple of the block's scale: −8 for Q4_0, −128 for Q8_0 (codes shifted by 128).
        case scaleMultiple(Float)
    }

    public let codes: Codes
    public let rows: Int
    public let columns: Int
    /// Per block (row-major), its codes as `codes` says.
    let blockCodes: [UInt8]
    /// Per block, row-major: float16 bit patterns.
    let scales: [UInt16]
    /// Per block when offsets are stored (else empty): float16 bit patterns.
    let blockOffsets: [UInt16]
    /// The offset as a multiple of the scale when offsets are not stored.
    let offsetMultiple: Float

    var blocksPerRow: Int { columns / Self.blockLength }

    /// - blockCodes: per block (row-major, `columns / 32` blocks a row), its codes as `codes` says.
    /// - scales: per block, a float16 bit pattern; offsets: per block too when `.perBlock`.
    /// Sizes must agree (callers validate file contents before building a matrix).
    public init(codes: Codes, rows: Int, columns: Int, blockCodes: UnsafeRawBufferPointer, scales: [UInt16], offsets: Offsets) {
        let blocks = rows * columns / Self.blockLength
        precondition(columns % Self.blockLength == 0, "QuantizedMatrix: \(columns) columns is not a multiple of 32")
        var offsetCount = blocks
        if case .perBlock(let values) = offsets { offsetCount = values.count }
        precondition(blockCodes.count == blocks * codes.bytesPerBlock && scales.count == blocks && offsetCount == blocks,
                     "QuantizedMatrix: codes, scales or offsets do not match \(rows)x\(columns)")
        self.codes = codes
        self.rows = rows
        self.columns = columns
        self.scales = scales
        switch offsets {
        case .perBlock(let values): (blockOffsets, offsetMultiple) = (values, 0)
        case .scaleMultiple(let multiple): (blockOffsets, offsetMultiple) = ([], multiple)
        }
        self.blockCodes = [UInt8](blockCodes)
    }

    private init(codes: Codes, rows: Int, columns: Int, blockCodes: [UInt8], scales: [UInt16],
                 blockOffsets: [UInt16], offsetMultiple: Float) {
        self.codes = codes
        self.rows = rows
        self.columns = columns
        self.blockCodes = blockCodes
        self.scales = scales
        self.blockOffsets = blockOffsets
        self.offsetMultiple = offsetMultiple
    }

    /// The matrix whose row i is this matrix's row `order[i]`.
    public func permutingRows(_ order: [Int]) -> QuantizedMatrix {
        precondition(order.count == rows && order.allSatisfy { (0..<rows).contains($0) }, "permutingRows: bad order")
        let rowBytes = blocksPerRow * codes.bytesPerBlock, rowBlocks = blocksPerRow
        func gather<T>(_ source: [T], width: Int) -> [T] {
            var result: [T] = []
            result.reserveCapacity(source.count)
            for row in order { result += source[row * width ..< (row + 1) * width] }
            return result
        }
        return QuantizedMatrix(codes: codes, rows: rows, columns: columns, blockCodes: gather(blockCodes, width: rowBytes),
                               scales: gather(scales, width: rowBlocks),
                               blockOffsets: blockOffsets.isEmpty ? [] : gather(blockOffsets, width: rowBlocks),
                               offsetMultiple: offsetMultiple)
    }

    /// Bytes held (codes, scales and offsets).
    public var byteCount: Int { blockCodes.count + 2 * scales.count + 2 * blockOffsets.count }

    /// Calls `body(row, codes, scales, offsets)` for every row of `range` with the row's block
    /// codes and its blocks' scales and offsets widened to float32. Scales are widened for up to
    /// `rowsPerBatch` rows at once, so the per-row cost stays small next to the row's blocks.
    @inline(__always)
    private func forEachRow(_ range: Range<Int>,
                            _ body: (Int, UnsafePointer<UInt8>, UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
        let perRow = blocksPerRow, rowBytes = perRow * codes.bytesPerBlock
        let rowsPerBatch = max(1, 2048 / max(perRow, 1)), batchSize = rowsPerBatch * perRow
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * max(batchSize, 1)) { scratch in
            let batchScales = scratch.baseAddress!, batchOffsets = batchScales + batchSize
            blockCodes.withUnsafeBufferPointer { allCodes in
                scales.withUnsafeBufferPointer { scales in
                    blockOffsets.withUnsafeBufferPointer { offsets in
                        for batchStart in stride(from: range.lowerBound, to: range.upperBound, by: rowsPerBatch) {
                            let batch = batchStart ..< min(batchStart + rowsPerBatch, range.upperBound)
                            let first = batchStart * perRow, count = batch.count * perRow
                            widenHalves(scales.baseAddress! + first, count: count, into: batchScales)
                            if !offsets.isEmpty {
                                widenHalves(offsets.baseAddress! + first, count: count, into: batchOffsets)
                            } else {
                                for block in 0..<count { batchOffsets[block] = offsetMultiple * batchScales[block] }
                            }
                            for row in batch {
                                let offset = (row - batchStart) * perRow
                                body(row, allCodes.baseAddress! + row * rowBytes, batchScales + offset, batchOffsets + offset)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Rows `range` as float32, written row-major (`columns` apart) from `destination`.
    public func dequantizeRows(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let blockBytes = codes.bytesPerBlock, length = Self.blockLength
        forEachRow(range) { row, rowCodes, scales, offsets in
            let rowOut = destination + (row - range.lowerBound) * columns
            for block in 0..<blocksPerRow {
                let c = rowCodes + block * blockBytes, out = rowOut + block * length
                let scale = scales[block], offset = offsets[block]
                // Multiply, then add, each rounded, as ggml dequantises.
                switch codes {
                case .nibbles:
                    for j in 0..<16 {
                        out[j] = Float(c[j] & 0xF) * scale + offset
                        out[16 + j] = Float(c[j] &>> 4) * scale + offset
                    }
                case .bytes:
                    for j in 0..<32 { out[j] = Float(c[j]) * scale + offset }
                }
            }
        }
    }

    /// The whole matrix as a float32 tensor [rows, columns].
    public func dequantized() -> Tensor {
        Tensor(shape: [rows, columns]) { dequantizeRows(0..<rows, into: $0.baseAddress!) }
    }

    /// y[r − rows.lowerBound] = Σ_c W[r, c]·x[c] for r in `rows`. `blockSums[b]` is the sum of
    /// x over block b, which the offsets multiply.
    func multiplyRows(_ range: Range<Int>, vector x: UnsafePointer<Float>, blockSums: UnsafePointer<Float>,
                      into y: UnsafeMutablePointer<Float>) {
        let perRow = blocksPerRow
        forEachRow(range) { row, rowCodes, scales, offsets in
            y[row - range.lowerBound] = rowDot(rowCodes, x, scales: scales) + dot(offsets, blockSums, count: perRow)
        }
    }

    /// Σ code·scale·x over one row's blocks.
    @inline(__always)
    private func rowDot(_ rowCodes: UnsafePointer<UInt8>, _ x: UnsafePointer<Float>, scales: UnsafePointer<Float>) -> Float {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { lanes in
            // One partial sum per byte position of a block's codes, in a local buffer that the
            // optimiser keeps in vector registers across the row.
            let sums = lanes.baseAddress!
            for j in 0..<16 { sums[j] = 0 }
            switch codes {
            case .nibbles:
                for block in 0..<blocksPerRow {
                    let c = rowCodes + 16 * block, values = x + Self.blockLength * block, scale = scales[block]
                    for j in 0..<16 {
                        sums[j] += (Float(c[j] & 0xF) * values[j] + Float(c[j] &>> 4) * values[16 + j]) * scale
                    }
                }
            case .bytes:
                for block in 0..<blocksPerRow {
                    let c = rowCodes + 32 * block, values = x + Self.blockLength * block, scale = scales[block]
                    for j in 0..<16 {
                        sums[j] += (Float(c[j]) * values[j] + Float(c[16 + j]) * values[16 + j]) * scale
                    }
                }
            }
            var total: Float = 0
            for j in 0..<16 { total += sums[j] }
            return total
        }
    }
}

/// float16 bit patterns to float32, exactly (subnormals, infinities and NaNs included), four at a
/// time. Lanes are addressed by constants only: a lane picked by a variable index goes through
/// the stack, and the vector load after it stalls on store forwarding.
@inline(__always)
private func widenHalves(_ source: UnsafePointer<UInt16>, count: Int, into destination: UnsafeMutablePointer<Float>) {
    var i = 0
    while i + 4 <= count {
        let halves = SIMD4<UInt32>(UInt32(source[i]), UInt32(source[i + 1]), UInt32(source[i + 2]), UInt32(source[i + 3]))
        UnsafeMutableRawPointer(destination + i).storeBytes(of: halfToFloat(halves), as: Float4.self)
        i += 4
    }
    let left = count - i
    guard left > 0 else { return }
    let halves = SIMD4<UInt32>(UInt32(source[i]), left > 1 ? UInt32(source[i + 1]) : 0, left > 2 ? UInt32(source[i + 2]) : 0, 0)
    let widened = halfToFloat(halves)
    destination[i] = widened[0]
    if left > 1 { destination[i + 1] = widened[1] }
    if left > 2 { destination[i + 2] = widened[2] }
}

/// The exponent and mantissa move into float32 position, and a multiply by 2^112 rebiases the
/// exponent (exact, subnormal halves included); exponent 31 (infinity, NaN) maps to 255.
@inline(__always)
private func halfToFloat(_ half: SIMD4<UInt32>) -> Float4 {
    let magnitude = unsafeBitCast((half & 0x7FFF) &<< 13, to: Float4.self) * 0x1p112
    let exponentIs31 = (((half &>> 10) & 0x1F) &+ 1) &>> 5  // 1 or 0, without a lane-by-lane select
    let bits = unsafeBitCast(magnitude, to: SIMD4<UInt32>.self) | ((half & 0x8000) &<< 16) | ((0 &- exponentIs31) & 0x7F80_0000)
    return unsafeBitCast(bits, to: Float4.self)
}

/// Σ a[i]·b[i], four lanes at a time.
@inline(__always)
private func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var sum = Float4(repeating: 0), i = 0
    while i + 4 <= count {
        sum += UnsafeRawPointer(a + i).loadUnaligned(as: Float4.self) * UnsafeRawPointer(b + i).loadUnaligned(as: Float4.self)
        i += 4
    }
    var total = sum.sum()
    while i < count {
        total += a[i] * b[i]
        i += 1
    }
    return total
}

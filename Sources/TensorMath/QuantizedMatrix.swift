// Matrices kept in ggml's 32-element quantised blocks (Q4_0, Q4_1, Q8_0), with kernels that
// compute on the blocks directly: a matrix–vector product widens each block's codes in registers
// and never writes float32 weights, which is what makes token-by-token decoding fast (the weights
// are read once per token, at 4.5–8.5 bits each instead of 32).
//
// The build targets baseline x86-64 (SSE2: no byte shuffles, no FMA), so a block's codes are
// widened with 32-bit shifts and masks: byte k of lane i of a 16-byte vector is extracted by
// `(v >> 8k) & mask`, giving one element per lane. The codes are stored 4×4-transposed within
// each 16 bytes so that this extraction yields elements in their natural order.

typealias Float4 = SIMD4<Float>

/// A [rows, columns] matrix of 32-element blocks, each element `code · scale + offset` with one
/// scale and offset per block: ggml's Q4_0 (offset −8·d), Q4_1 (offset m) and Q8_0 (offset 0).
public struct QuantizedMatrix: Sendable {
    public static let blockLength = 32

    /// How a block's 32 codes are stored.
    public enum Codes: Sendable {
        /// 16 bytes of unsigned 4-bit codes: byte j holds element j in its low nibble and element
        /// j + 16 in its high nibble (ggml's Q4_0/Q4_1 order).
        case nibbles
        /// 32 signed bytes, element j in byte j (ggml's Q8_0).
        case signedBytes

        public var bytesPerBlock: Int { self == .nibbles ? 16 : 32 }
    }

    public let codes: Codes
    public let rows: Int
    public let columns: Int
    /// Per block, its codes 4×4-transposed within every 16 bytes (see the file comment).
    let packedCodes: [UInt8]
    /// Per block, row-major.
    let scales: [Float]
    /// Per block; nil when every offset is zero (Q8_0).
    let offsets: [Float]?

    var blocksPerRow: Int { columns / Self.blockLength }

    /// - codes: per block (row-major, `columns / 32` blocks a row), its codes in ggml's order.
    /// - scales, offsets: one per block; `offsets` nil means all zero.
    /// Sizes must agree (callers validate file contents before building a matrix).
    public init(codes: Codes, rows: Int, columns: Int, blockCodes: UnsafeRawBufferPointer, scales: [Float], offsets: [Float]?) {
        let blocks = rows * columns / Self.blockLength
        precondition(columns % Self.blockLength == 0, "QuantizedMatrix: \(columns) columns is not a multiple of 32")
        precondition(blockCodes.count == blocks * codes.bytesPerBlock && scales.count == blocks && (offsets?.count ?? blocks) == blocks,
                     "QuantizedMatrix: codes, scales or offsets do not match \(rows)x\(columns)")
        self.codes = codes
        self.rows = rows
        self.columns = columns
        self.scales = scales
        self.offsets = offsets
        packedCodes = [UInt8](unsafeUninitializedCapacity: blockCodes.count) { packed, count in
            for group in stride(from: 0, to: blockCodes.count, by: 16) {
                for i in 0..<4 {
                    for k in 0..<4 { packed[group + 4 * i + k] = blockCodes[group + 4 * k + i] }
                }
            }
            count = blockCodes.count
        }
    }

    private init(codes: Codes, rows: Int, columns: Int, packedCodes: [UInt8], scales: [Float], offsets: [Float]?) {
        self.codes = codes
        self.rows = rows
        self.columns = columns
        self.packedCodes = packedCodes
        self.scales = scales
        self.offsets = offsets
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
        return QuantizedMatrix(codes: codes, rows: rows, columns: columns, packedCodes: gather(packedCodes, width: rowBytes),
                               scales: gather(scales, width: rowBlocks), offsets: offsets.map { gather($0, width: rowBlocks) })
    }

    /// Bytes held (codes, scales and offsets).
    public var byteCount: Int { packedCodes.count + 4 * scales.count + 4 * (offsets?.count ?? 0) }

    /// Rows `range` as float32, written row-major (`columns` apart) from `destination`.
    public func dequantizeRows(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let blockBytes = codes.bytesPerBlock, perRow = blocksPerRow
        packedCodes.withUnsafeBytes { packed in
            scales.withUnsafeBufferPointer { scales in
                withOptionalBuffer(offsets) { offsets in
                    for row in range {
                        for block in 0..<perRow {
                            let index = row * perRow + block
                            let scale = Float4(repeating: scales[index])
                            let out = UnsafeMutableRawPointer(destination + (row - range.lowerBound) * columns + block * Self.blockLength)
                            let block = packed.baseAddress! + index * blockBytes
                            // Multiply, then add: rounded as ggml dequantises (no offset at all
                            // for Q8_0, so a zero keeps the sign ggml gives it).
                            if let offsets {
                                let offset = Float4(repeating: offsets[index])
                                forEachGroup(of: codes, block) { group, values in
                                    out.storeBytes(of: values * scale + offset, toByteOffset: 16 * group, as: Float4.self)
                                }
                            } else {
                                forEachGroup(of: codes, block) { group, values in
                                    out.storeBytes(of: values * scale, toByteOffset: 16 * group, as: Float4.self)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The whole matrix as a float32 tensor [rows, columns].
    public func dequantized() -> Tensor {
        Tensor(shape: [rows, columns]) { dequantizeRows(0..<rows, into: $0.baseAddress!) }
    }

    /// y[r − rows.lowerBound] = Σ_c W[r, c]·x[c] for r in `rows`. `blockSums[b]` is the sum of
    /// x over block b (used by the offsets).
    func multiplyRows(_ range: Range<Int>, vector x: UnsafePointer<Float>, blockSums: UnsafePointer<Float>,
                      into y: UnsafeMutablePointer<Float>) {
        let blockBytes = codes.bytesPerBlock, perRow = blocksPerRow
        packedCodes.withUnsafeBytes { packed in
            scales.withUnsafeBufferPointer { scales in
                withOptionalBuffer(offsets) { offsets in
                    for row in range {
                        let first = row * perRow
                        let rowCodes = packed.baseAddress! + first * blockBytes
                        var sum = Float4(repeating: 0)
                        switch codes {
                        case .nibbles:
                            for block in 0..<perRow {
                                sum += nibbleBlockDot(rowCodes + block * 16, x + block * Self.blockLength) * scales[first + block]
                            }
                        case .signedBytes:
                            for block in 0..<perRow {
                                sum += signedByteBlockDot(rowCodes + block * 32, x + block * Self.blockLength) * scales[first + block]
                            }
                        }
                        var total = sum.sum()
                        if let offsets {
                            for block in 0..<perRow { total += offsets[first + block] * blockSums[block] }
                        }
                        y[row - range.lowerBound] = total
                    }
                }
            }
        }
    }
}

@inline(__always)
private func withOptionalBuffer<R>(_ array: [Float]?, _ body: (UnsafeBufferPointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0) }
}

/// Calls `body(group, values)` for the 8 groups of 4 consecutive elements of one block
/// (elements 4·group ..< 4·group + 4), widened to float from the packed codes at `block`.
@inline(__always)
private func forEachGroup(of codes: QuantizedMatrix.Codes, _ block: UnsafeRawPointer, _ body: (Int, Float4) -> Void) {
    switch codes {
    case .nibbles:
        let word = block.loadUnaligned(as: SIMD4<UInt32>.self)
        for k in 0..<4 {
            body(k, widen((word &>> UInt32(8 * k)) & 0xF))
            body(4 + k, widen((word &>> UInt32(8 * k + 4)) & 0xF))
        }
    case .signedBytes:
        for half in 0..<2 {
            let word = block.loadUnaligned(fromByteOffset: 16 * half, as: SIMD4<Int32>.self)
            for k in 0..<4 { body(4 * half + k, Float4((word &<< Int32(24 - 8 * k)) &>> 24)) }
        }
    }
}

@inline(__always)
private func widen(_ codes: SIMD4<UInt32>) -> Float4 { Float4(SIMD4<Int32>(truncatingIfNeeded: codes)) }

@inline(__always)
private func load4(_ x: UnsafePointer<Float>, _ group: Int) -> Float4 {
    UnsafeRawPointer(x + 4 * group).loadUnaligned(as: Float4.self)
}

/// Per-lane partial sums of codes·x over one nibble block (the caller applies scale and offset).
/// The products are summed as a tree so the block is not one long chain of dependent adds.
@inline(__always)
private func nibbleBlockDot(_ block: UnsafeRawPointer, _ x: UnsafePointer<Float>) -> Float4 {
    let word = block.loadUnaligned(as: SIMD4<UInt32>.self)
    let a = widen(word & 0xF) * load4(x, 0) + widen((word &>> 8) & 0xF) * load4(x, 1)
    let b = widen((word &>> 16) & 0xF) * load4(x, 2) + widen((word &>> 24) & 0xF) * load4(x, 3)
    let c = widen((word &>> 4) & 0xF) * load4(x, 4) + widen((word &>> 12) & 0xF) * load4(x, 5)
    let d = widen((word &>> 20) & 0xF) * load4(x, 6) + widen(word &>> 28) * load4(x, 7)
    return (a + b) + (c + d)
}

/// Per-lane partial sums of codes·x over one signed-byte block.
@inline(__always)
private func signedByteBlockDot(_ block: UnsafeRawPointer, _ x: UnsafePointer<Float>) -> Float4 {
    let low = block.loadUnaligned(as: SIMD4<Int32>.self), high = block.loadUnaligned(fromByteOffset: 16, as: SIMD4<Int32>.self)
    let a = Float4((low &<< 24) &>> 24) * load4(x, 0) + Float4((low &<< 16) &>> 24) * load4(x, 1)
    let b = Float4((low &<< 8) &>> 24) * load4(x, 2) + Float4(low &>> 24) * load4(x, 3)
    let c = Float4((high &<< 24) &>> 24) * load4(x, 4) + Float4((high &<< 16) &>> 24) * load4(x, 5)
    let d = Float4((high &<< 8) &>> 24) * load4(x, 6) + Float4(high &>> 24) * load4(x, 7)
    return (a + b) + (c + d)
}

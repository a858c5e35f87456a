import TensorMath

extension GGUFFile {
    /// A Q4_0, Q4_1 or Q8_0 tensor kept in its quantised blocks, for kernels that compute on them
    /// directly: a [rows, columns] matrix in the numpy/HF layout (`columns` = ne[0]). nil for any
    /// other type. The float16 block scales (and Q4_1 minimums) are widened to float32 here, once.
    public func quantizedMatrix(_ name: String) throws -> QuantizedMatrix? {
        let info = try tensorInfo(name)
        let codes: QuantizedMatrix.Codes
        switch info.type {
        case .q4_0, .q4_1: codes = .nibbles
        case .q8_0: codes = .signedBytes
        default: return nil
        }
        guard info.ne.dropFirst(2).allSatisfy({ $0 == 1 }) else {
            throw CheckpointError(path: path, problem: "tensor '\(name.oneLine())' has ne \(info.ne), expected a matrix (at most 2 dimensions)")
        }
        let columns = info.ne[0], rows = columns == 0 ? 0 : info.elementCount / columns
        let raw = try rawData(of: name)
        let blocks = info.elementCount / QuantizedMatrix.blockLength
        let blockBytes = raw.count / max(blocks, 1), codeBytes = codes.bytesPerBlock, headerBytes = blockBytes - codeBytes
        var scales = [Float](repeating: 0, count: blocks)
        var offsets: [Float]? = info.type == .q8_0 ? nil : [Float](repeating: 0, count: blocks)
        var blockCodes = [UInt8](repeating: 0, count: blocks * codeBytes)
        raw.withUnsafeBytes { source in
            blockCodes.withUnsafeMutableBytes { destination in
                for block in 0 ..< blocks {
                    let base = source.baseAddress! + block * blockBytes
                    let scale = floatFromHalfBits(UInt16(littleEndian: base.loadUnaligned(as: UInt16.self)))
                    scales[block] = scale
                    switch info.type {
                    case .q4_0: offsets![block] = -8 * scale  // x = (q − 8)·d
                    case .q4_1: offsets![block] = floatFromHalfBits(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
                    default: break
                    }
                    (destination.baseAddress! + block * codeBytes).copyMemory(from: base + headerBytes, byteCount: codeBytes)
                }
            }
        }
        return blockCodes.withUnsafeBytes {
            QuantizedMatrix(codes: codes, rows: rows, columns: columns, blockCodes: $0, scales: scales, offsets: offsets)
        }
    }
}

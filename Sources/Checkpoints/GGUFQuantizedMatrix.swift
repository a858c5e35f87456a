import TensorMath

extension GGUFFile {
    /// A Q4_0, Q4_1 or Q8_0 tensor kept in its quantised blocks, for kernels that compute on them
    /// directly: a [rows, columns] matrix in the numpy/HF layout (`columns` = ne[0]). nil for any
    /// other type. Q8_0's signed codes are shifted by 128 (with offset −128·d) into unsigned ones.
    public func quantizedMatrix(_ name: String) throws -> QuantizedMatrix? {
        let info = try tensorInfo(name)
        let codes: QuantizedMatrix.Codes
        switch info.type {
        case .q4_0, .q4_1: codes = .nibbles
        case .q8_0: codes = .bytes
        default: return nil
        }
        guard info.ne.dropFirst(2).allSatisfy({ $0 == 1 }) else {
            throw CheckpointError(path: path, problem: "tensor '\(name.oneLine())' has ne \(info.ne), expected a matrix (at most 2 dimensions)")
        }
        let columns = info.ne[0], rows = columns == 0 ? 0 : info.elementCount / columns
        let raw = try rawData(of: name)
        let blocks = info.elementCount / QuantizedMatrix.blockLength
        let blockBytes = raw.count / max(blocks, 1), codeBytes = codes.bytesPerBlock, headerBytes = blockBytes - codeBytes
        var scales = [UInt16](repeating: 0, count: blocks)
        var minimums = [UInt16](repeating: 0, count: info.type == .q4_1 ? blocks : 0)
        var blockCodes = [UInt8](repeating: 0, count: blocks * codeBytes)
        raw.withUnsafeBytes { source in
            blockCodes.withUnsafeMutableBytes { destination in
                for block in 0 ..< blocks {
                    let base = source.baseAddress! + block * blockBytes
                    scales[block] = UInt16(littleEndian: base.loadUnaligned(as: UInt16.self))
                    if info.type == .q4_1 { minimums[block] = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt16.self)) }
                    let blockCodes = destination.baseAddress! + block * codeBytes
                    blockCodes.copyMemory(from: base + headerBytes, byteCount: codeBytes)
                    if info.type == .q8_0 {  // signed q → q + 128
                        for j in 0 ..< codeBytes {
                            blockCodes.storeBytes(of: blockCodes.load(fromByteOffset: j, as: UInt8.self) ^ 0x80, toByteOffset: j, as: UInt8.self)
                        }
                    }
                }
            }
        }
        // x = q·d + m (Q4_1), (q − 8)·d (Q4_0), q·d = (q + 128)·d − 128·d (Q8_0).
        let offsets: QuantizedMatrix.Offsets = info.type == .q4_1 ? .perBlock(minimums) : .scaleMultiple(info.type == .q4_0 ? -8 : -128)
        return blockCodes.withUnsafeBytes {
            QuantizedMatrix(codes: codes, rows: rows, columns: columns, blockCodes: $0, scales: scales, offsets: offsets)
        }
    }
}

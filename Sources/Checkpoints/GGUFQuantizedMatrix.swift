import TensorMath

extension GGUFFile {
    /// A Q4_0, Q4_1 or Q8_0 tensor as a matrix over its blocks where they lie in the mapped
    /// file (nothing is copied; the matrix keeps the file open): a [rows, columns] matrix in the
    /// numpy/HF layout (`columns` = ne[0]). nil for any other type.
    public func quantizedMatrix(_ name: String) throws -> QuantizedMatrix? {
        let info = try tensorInfo(name)
        guard case .blocks(let format) = GGMLDecoding(info.type) else { return nil }
        guard info.ne.dropFirst(2).allSatisfy({ $0 == 1 }) else {
            throw CheckpointError(path: path, problem: "tensor '\(name.oneLine())' has ne \(info.ne), expected a matrix (at most 2 dimensions)")
        }
        let columns = info.ne[0], rows = columns == 0 ? 0 : info.elementCount / columns
        return QuantizedMatrix(format: format, rows: rows, columns: columns, blocks: try mappedData(of: info), owner: self)
    }
}

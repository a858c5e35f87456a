/// Checks where a dataset's values are before libhdf5 reads them: its layout message (version 3,
/// libhdf5's default format), its filters (deflate and shuffle only), its fill value, and its
/// storage: compact values within the message, contiguous values within the file, and every
/// chunk of a chunked dataset within the file and no larger than the dataset (libhdf5 allocates
/// a chunk's buffer by its stored size, and the readers bound the dataset's size before reading). Variable-length strings must be
/// stored compact or contiguous, where their references can be checked.
struct DatasetStorageCheck {
    let file: UnsafeRawBufferPointer
    let claims: StructureClaims
    let collections: VariableLengthStringCheck.Collections
    /// K of chunk B-tree nodes (libhdf5's default 32 unless the superblock says otherwise).
    let chunkTreeK: Int
    private static let filtersVlsamWrites: Set<Int> = [1, 2]  // deflate, shuffle

    /// The dataset's elements and datatype come from its dataspace and datatype messages.
    func check(dimensions: [Int], elements: Int, datatype: StoredDatatype, layout: inout HDF5Cursor,
               filters: HDF5Cursor?, fillValue: HDF5Cursor?, oldFillValue: HDF5Cursor?) throws {
        let what = layout.what
        var filtered = false
        if var filters { filtered = try checkFilters(&filters) }
        try checkFillValues(fillValue, oldFillValue, datatype: datatype, what: what)
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: datatype.size)
        guard !overflow else { throw HDF5LayoutProblem.corrupt("\(what) describes more than \(Int.max) bytes") }
        let version = try layout.u8(), layoutClass = try layout.u8()
        guard version == 3 else { throw HDF5LayoutProblem.unsupported("data layout message version \(version)") }
        guard layoutClass == 2 || !filtered else { throw HDF5LayoutProblem.corrupt("\(what) filters unchunked storage") }
        var values: HDF5Cursor?
        switch layoutClass {
        case 0:
            let size = try layout.u16()
            guard size == bytes else { throw HDF5LayoutProblem.corrupt("\(what) stores \(size) compact bytes for \(bytes)") }
            values = try layout.take(size)
        case 1:
            let address = try layout.address(), size = try layout.length()
            if let address {
                guard size >= bytes else { throw HDF5LayoutProblem.corrupt("\(what) stores \(size) contiguous bytes for \(bytes)") }
                values = try HDF5Cursor(file, at: address, count: bytes, what: what)
                _ = try HDF5Cursor(file, at: address, count: size, what: what)
            }
        case 2:
            guard !datatype.isVariableLengthString else { throw HDF5LayoutProblem.unsupported("chunked variable-length strings") }
            try checkChunks(&layout, dimensions: dimensions, datatype: datatype, filtered: filtered)
        default:
            throw HDF5LayoutProblem.unsupported("data layout class \(layoutClass)")
        }
        if datatype.isVariableLengthString, var values {
            try claims.claim(values.position, what: "string references of \(what)")
            try VariableLengthStringCheck.check(elements, referencesAt: &values, collections: collections)
        }
    }

    /// Chunk dimensions (the last one is the element size), then every chunk through the B-tree.
    private func checkChunks(_ layout: inout HDF5Cursor, dimensions: [Int], datatype: StoredDatatype, filtered: Bool) throws {
        let what = layout.what
        let count = try layout.u8()
        let btree = try layout.address()
        let sizes = try (0..<count).map { _ in try layout.u32() }
        guard sizes.count == dimensions.count + 1, sizes.last == datatype.size, !sizes.contains(0) else {
            throw HDF5LayoutProblem.corrupt("\(what) has chunks of \(sizes) for rank \(dimensions.count) and \(datatype.size)-byte values")
        }
        // An empty dataset is never read, so only its chunks may be larger than it.
        guard zip(sizes, dimensions).allSatisfy({ $0 <= $1 || $1 == 0 }) else {
            throw HDF5LayoutProblem.unsupported("chunks \(sizes.dropLast()) larger than the dataset \(dimensions)")
        }
        guard let chunkBytes = DataspaceCheck.product(sizes) else { throw HDF5LayoutProblem.corrupt("\(what) has chunks of \(sizes) bytes") }
        guard let btree else { return }  // no chunk written yet
        let tree = BTreeCheck(file: file, claims: claims, kind: .chunks, keySize: 8 + 8 * count, halfCapacity: chunkTreeK)
        try tree.walk(from: btree) { key, chunk in
            guard let chunk else { return }
            // Unfiltered chunks are read whole; filtered ones by their stored size.
            let stored = try key.u32()
            guard stored > 0, filtered || stored == chunkBytes else {
                throw HDF5LayoutProblem.corrupt("\(what) has a chunk of \(stored) bytes at byte \(chunk), expected \(chunkBytes)")
            }
            _ = try HDF5Cursor(file, at: chunk, count: stored, what: "chunk of \(what)")
        }
    }

    /// A filter pipeline message (versions 1 and 2); true when it holds any filter.
    private func checkFilters(_ cursor: inout HDF5Cursor) throws -> Bool {
        let version = try cursor.u8(), count = try cursor.u8()
        guard version == 1 || version == 2 else { throw HDF5LayoutProblem.unsupported("filter pipeline version \(version)") }
        if version == 1 { try cursor.skip(6) }
        for _ in 0..<count {
            let filter = try cursor.u16()
            let nameLength = version == 1 || filter >= 256 ? try cursor.u16() : 0
            try cursor.skip(2)  // flags
            let values = try cursor.u16()
            guard Self.filtersVlsamWrites.contains(filter) else { throw HDF5LayoutProblem.unsupported("filter \(filter)") }
            if nameLength > 0 {
                var name = try cursor.take(nameLength)
                try name.skipTerminatedName()
            }
            try cursor.skip(4 * values + (version == 1 && values % 2 == 1 ? 4 : 0))
        }
        return count > 0
    }

    /// The fill value messages, new and old: a defined value must be one element of the
    /// dataset's type (libhdf5 converts it as one), and none is allowed for variable-length strings.
    private func checkFillValues(_ fillValue: HDF5Cursor?, _ oldFillValue: HDF5Cursor?, datatype: StoredDatatype,
                                 what: String) throws {
        var sizes: [Int] = []
        if var fillValue { sizes.append(try fillValueBytes(&fillValue)) }
        if var oldFillValue {
            let size = try oldFillValue.u32()
            try oldFillValue.skip(size)
            sizes.append(size)
        }
        for size in sizes where size > 0 {
            guard !datatype.isVariableLengthString else { throw HDF5LayoutProblem.unsupported("fill values of variable-length strings") }
            guard size == datatype.size else {
                throw HDF5LayoutProblem.corrupt("\(what) has a fill value of \(size) bytes for \(datatype.size)-byte values")
            }
        }
    }

    /// A fill value message (versions 1 to 3): the bytes of a defined fill value.
    private func fillValueBytes(_ cursor: inout HDF5Cursor) throws -> Int {
        let version = try cursor.u8()
        var defined: Bool
        switch version {
        case 1, 2:
            try cursor.skip(2)  // allocation and write times
            defined = try cursor.u8() != 0 || version == 1
        case 3:
            defined = try cursor.u8() & 0x20 != 0
        default:
            throw HDF5LayoutProblem.unsupported("fill value message version \(version)")
        }
        guard defined else { return 0 }
        let size = try cursor.u32()
        try cursor.skip(size)
        return size
    }
}

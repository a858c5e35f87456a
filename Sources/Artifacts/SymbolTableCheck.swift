/// Reads a group's symbol table (the only group format of libhdf5's default file format): the
/// local heap holding the names, the B-tree of symbol table nodes and their entries. Names must
/// end within the heap, nodes hold at most 2K entries (libhdf5 1.10.8 decodes a node's stored
/// count into a table of 2K entries unchecked), and only hard links are allowed.
struct SymbolTableCheck {
    let file: UnsafeRawBufferPointer
    let claims: StructureClaims
    /// The superblock's group leaf and internal node K.
    let leafK: Int, internalK: Int
    private static let entrySize = 40

    func entries(btree: Int, heap: Int) throws -> [GroupEntry] {
        let names = try localHeapNames(at: heap)
        let tree = BTreeCheck(file: file, claims: claims, kind: .group, keySize: 8, halfCapacity: internalK)
        var entries: [GroupEntry] = []
        try tree.walk(from: btree) { key, child in
            // Keys are heap offsets of names that libhdf5 compares with strcmp.
            try names.check(offset: try key.length())
            if let child { entries += try nodeEntries(at: child, names: names) }
        }
        return entries
    }

    /// The heap's data segment, after checking the free list stays within it and ends.
    private func localHeapNames(at address: Int) throws -> HeapNames {
        let what = "local heap at byte \(address)"
        try claims.claim(address, what: what)
        var header = try HDF5Cursor(file, at: address, count: 32, what: what)
        try header.expectSignature("HEAP", version: 0)
        try header.skip(3)
        let size = try header.length(), freeBlock = try header.u64()
        guard let dataAddress = try header.address() else { throw HDF5LayoutProblem.corrupt("\(what) has no data segment") }
        let data = try HDF5Cursor(file, at: dataAddress, count: size, what: "data of \(what)")
        let lastTerminator = file[data.position ..< data.end].lastIndex(of: 0).map { $0 - data.position }
        // The free list ends with offset 1 (libhdf5's marker) or the undefined address.
        var offset = freeBlock, visited: Set<UInt64> = []
        while offset != 1, offset != .max {
            guard offset <= UInt64(size), visited.insert(offset).inserted, size - Int(offset) >= 16 else {
                throw HDF5LayoutProblem.corrupt("\(what) has a free list leaving its data or looping")
            }
            let blockOffset = Int(offset)
            var block = try HDF5Cursor(file, at: dataAddress + blockOffset, count: 16, what: "free list of \(what)")
            offset = try block.u64()
            guard try block.length() <= size - blockOffset else {
                throw HDF5LayoutProblem.corrupt("\(what) has a free block larger than its data")
            }
        }
        return HeapNames(what: data.what, lastTerminator: lastTerminator)
    }

    private func nodeEntries(at address: Int, names: HeapNames) throws -> [GroupEntry] {
        let what = "symbol table node at byte \(address)"
        try claims.claim(address, what: what)
        var header = try HDF5Cursor(file, at: address, count: 8, what: what)
        try header.expectSignature("SNOD", version: 1)
        try header.skip(1)
        let count = try header.u16()
        guard count <= 2 * leafK else { throw HDF5LayoutProblem.corrupt("\(what) claims \(count) entries, at most \(2 * leafK) fit") }
        var cursor = try HDF5Cursor(file, at: address + 8, count: count * Self.entrySize, what: what)
        return try (0..<count).map { _ in try entry(&cursor, names: names) }
    }

    /// A symbol table entry: name offset, object header address, cache type, reserved, scratch pad.
    func entry(_ cursor: inout HDF5Cursor, names: HeapNames?) throws -> GroupEntry {
        let nameOffset = try cursor.length()
        guard let objectAddress = try cursor.address() else {
            throw HDF5LayoutProblem.corrupt("\(cursor.what) has an entry without an object")
        }
        let cacheType = try cursor.u32()
        try cursor.skip(4)
        var scratch = try cursor.take(16)
        guard cacheType <= 1 else { throw HDF5LayoutProblem.unsupported("soft links (symbol table entry cache type \(cacheType))") }
        var cached: (btree: Int, heap: Int)?
        if cacheType == 1 {
            guard let btree = try scratch.address(), let heap = try scratch.address() else {
                throw HDF5LayoutProblem.corrupt("\(cursor.what) caches an undefined symbol table")
            }
            cached = (btree, heap)
        }
        try names?.check(offset: nameOffset)
        return GroupEntry(objectAddress: objectAddress, cachedSymbolTable: cached)
    }
}

/// One link of a group: the object it names and, when the entry caches it, the object's symbol table.
struct GroupEntry {
    let objectAddress: Int
    let cachedSymbolTable: (btree: Int, heap: Int)?
}

/// Where a local heap's names may start: libhdf5 reads a name from its offset up to a NUL
/// (`strcmp`, `strdup`), so the name must have one after it within the heap's data.
struct HeapNames {
    let what: String
    /// The offset of the data's last NUL; nil when it has none.
    let lastTerminator: Int?

    func check(offset: Int) throws {
        guard let lastTerminator, offset <= lastTerminator else {
            throw HDF5LayoutProblem.corrupt("a name at offset \(offset) does not end within the \(what)")
        }
    }
}

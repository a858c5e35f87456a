import Foundation

/// Checks, in Swift, every structure libhdf5 would parse on the way to a group, dataset or
/// attribute, before the file is handed to it: the superblock, each group's symbol table, each
/// object header and its messages, dataset storage, and variable-length string references.
///
/// libhdf5 1.10.8 (Debian 12's) trusts sizes, counts, names and references stored in the file:
/// fuzzing the artifact readers found it reading past object header messages and names, reading
/// through damaged string references (a segmentation fault) and allocating gigabytes a string
/// claims. The check accepts the subset of HDF5 that libhdf5 writes with its default (earliest)
/// format, which is what vlsam and h5py write, and refuses everything else with a one-line error;
/// it reads each structure once, a small fraction of reading the file.
struct HDF5LayoutCheck {
    private let file: UnsafeRawBufferPointer
    private let claims: StructureClaims
    private let groups: SymbolTableCheck
    private let storage: DatasetStorageCheck
    private let collections: VariableLengthStringCheck.Collections
    private let root: GroupEntry

    static func check(_ path: String) throws {
        // A file that cannot be mapped is left to HDF5, whose error names the problem.
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return }
        try data.withUnsafeBytes { bytes in
            do {
                let collections = try GlobalHeapCheck.collections(in: bytes)
                try HDF5LayoutCheck(file: bytes, collections: collections)?.checkObjects()
            } catch let problem as HDF5LayoutProblem {
                throw ArtifactError(.unreadable, file: path, problem.description)
            }
        }
    }

    /// Reads the superblock (versions 0 and 1, 8-byte addresses and lengths, at byte 0); nil
    /// for a file shorter than the superblock says, which HDF5 refuses to open as truncated.
    private init?(file: UnsafeRawBufferPointer, collections: VariableLengthStringCheck.Collections) throws {
        var superblock = try HDF5Cursor(file, at: 0, count: min(file.count, 100), what: "superblock")
        guard try superblock.u64() == UInt64(littleEndian: 0x0A1A_0A0D_4644_4889) else {
            throw HDF5LayoutProblem.unsupported("a user block before the superblock")
        }
        let version = try superblock.u8()
        guard version <= 1 else { throw HDF5LayoutProblem.unsupported("superblock version \(version)") }
        try superblock.skip(4)  // free-space, root group and shared header versions, reserved
        let offsetSize = try superblock.u8(), lengthSize = try superblock.u8()
        guard offsetSize == 8, lengthSize == 8 else {
            throw HDF5LayoutProblem.unsupported("\(offsetSize)-byte addresses and \(lengthSize)-byte lengths")
        }
        try superblock.skip(1)
        let leafK = try superblock.u16(), internalK = try superblock.u16()
        try superblock.skip(4)  // consistency flags
        var chunkTreeK = 32  // libhdf5's default, recorded from superblock version 1 on
        if version == 1 {
            chunkTreeK = try superblock.u16()
            try superblock.skip(2)
        }
        guard leafK > 0, internalK > 0, chunkTreeK > 0 else { throw HDF5LayoutProblem.corrupt("superblock has a B-tree K of 0") }
        let base = try superblock.address()
        _ = try superblock.u64()  // free-space information, unused
        let end = try superblock.u64()
        let driverInformation = try superblock.u64()
        guard base == 0, driverInformation == .max else {
            throw HDF5LayoutProblem.unsupported("a base address or file driver information in the superblock")
        }
        guard end <= UInt64(file.count) else { return nil }
        self.file = file
        self.collections = collections
        claims = StructureClaims()
        groups = SymbolTableCheck(file: file, claims: claims, leafK: leafK, internalK: internalK)
        storage = DatasetStorageCheck(file: file, claims: claims, collections: collections, chunkTreeK: chunkTreeK)
        root = try groups.entry(&superblock, names: nil)
    }

    /// Every object reachable from the root group, each once (hard links may name one twice).
    private func checkObjects() throws {
        var pending = [root], visited: Set<Int> = []
        while let entry = pending.popLast() {
            guard visited.insert(entry.objectAddress).inserted else { continue }
            pending += try checkObject(entry)
        }
    }

    /// Checks one object's header and messages; returns a group's entries.
    private func checkObject(_ entry: GroupEntry) throws -> [GroupEntry] {
        let what = "object header at byte \(entry.objectAddress)"
        var single: [HeaderMessage.Kind: HDF5Cursor] = [:], links: [GroupEntry] = []
        for message in try ObjectHeaderCheck.messages(at: entry.objectAddress, in: file, claims: claims) {
            var cursor = try HDF5Cursor(file, at: message.start, count: message.count, what: what)
            guard let kind = HeaderMessage.Kind(rawValue: message.type) else {
                throw HDF5LayoutProblem.unsupported("object header message type \(message.type) in \(what)")
            }
            switch kind {
            case .null, .continuation:
                break
            case .attribute:
                try AttributeMessageCheck.check(&cursor, collections: collections)
            case .link:
                links.append(try LinkMessageCheck.link(&cursor))
            case .attributeInfo:
                try LinkMessageCheck.checkCompactStorage(&cursor, links: false)
            case .groupInfo:  // flags, then optional link count limits and estimates
                let version = try cursor.u8(), flags = try cursor.u8()
                guard version == 0, flags & ~3 == 0 else { throw HDF5LayoutProblem.corrupt("\(what) has a bad group info message") }
                try cursor.skip((flags & 1 != 0 ? 4 : 0) + (flags & 2 != 0 ? 4 : 0))
            case .oldModificationTime, .modificationTime:  // 14 characters, or version and seconds in 8 bytes
                guard message.count >= (kind == .modificationTime ? 8 : 14) else {
                    throw HDF5LayoutProblem.corrupt("\(what) has a modification time of \(message.count) bytes")
                }
            case .dataspace, .linkInfo, .datatype, .oldFillValue, .fillValue, .layout, .filters, .symbolTable:
                guard single.updateValue(cursor, forKey: kind) == nil else {
                    throw HDF5LayoutProblem.corrupt("\(what) has two messages of type \(message.type)")
                }
            }
        }
        if var linkInfo = single.removeValue(forKey: .linkInfo) {
            guard single.isEmpty, entry.cachedSymbolTable == nil else {
                throw HDF5LayoutProblem.corrupt("\(what) is a group with dataset messages or a symbol table")
            }
            try LinkMessageCheck.checkCompactStorage(&linkInfo, links: true)
            return links
        }
        guard links.isEmpty else { throw HDF5LayoutProblem.corrupt("\(what) has links but is no group") }
        if var symbolTable = single.removeValue(forKey: .symbolTable) {
            guard single.isEmpty, let btree = try symbolTable.address(), let heap = try symbolTable.address(),
                  entry.cachedSymbolTable.map({ $0 == (btree, heap) }) ?? true else {
                throw HDF5LayoutProblem.corrupt("\(what) is a group with dataset messages or a symbol table unlike its cached one")
            }
            return try groups.entries(btree: btree, heap: heap)
        }
        guard var dataspace = single[.dataspace], var datatype = single[.datatype], var layout = single[.layout] else {
            throw HDF5LayoutProblem.unsupported("objects other than groups and datasets (\(what))")
        }
        guard entry.cachedSymbolTable == nil else { throw HDF5LayoutProblem.corrupt("\(what) is a dataset cached as a group") }
        let (dimensions, elements) = try DataspaceCheck.extent(&dataspace)
        try storage.check(dimensions: dimensions, elements: elements, datatype: try DatatypeCheck.decode(&datatype), layout: &layout,
                          filters: single[.filters], fillValue: single[.fillValue], oldFillValue: single[.oldFillValue])
        return []
    }
}

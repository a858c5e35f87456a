/// Walks a version 1 B-tree (the index of a group's symbol table nodes, or of a dataset's chunks)
/// and hands every key to `visit`, with the child to its right when that is a leaf's child. Nodes
/// must lie within the file, hold at most 2K entries, be of the tree's type and one level below
/// their parent, and be read once.
struct BTreeCheck {
    enum Kind: Int {
        case group = 0, chunks = 1
    }

    let file: UnsafeRawBufferPointer
    let claims: StructureClaims
    let kind: Kind
    let keySize: Int
    /// K: a node holds at most 2K children.
    let halfCapacity: Int
    private static let signature = Array("TREE".utf8), maximumLevel = 32

    /// `visit(key, child)` gets a cursor over each key, and the address of the child to its right
    /// when the node is a leaf (nil for inner nodes and for a node's last key).
    typealias Visit = (inout HDF5Cursor, Int?) throws -> Void

    func walk(from root: Int, _ visit: Visit) throws {
        try walk(root, expectedLevel: nil, visit)
    }

    private func walk(_ address: Int, expectedLevel: Int?, _ visit: Visit) throws {
        let what = "B-tree node at byte \(address)"
        try claims.claim(address, what: what)
        var header = try HDF5Cursor(file, at: address, count: 24, what: what)
        let signature = try (0..<4).map { _ in UInt8(try header.u8()) }
        let type = try header.u8(), level = try header.u8(), entries = try header.u16()
        guard signature == Self.signature, type == kind.rawValue else {
            throw HDF5LayoutProblem.corrupt("\(what) is not a \(kind == .group ? "group" : "chunk") B-tree node")
        }
        guard level == expectedLevel ?? level, level <= Self.maximumLevel, entries <= 2 * halfCapacity else {
            throw HDF5LayoutProblem.corrupt("\(what) has level \(level) and \(entries) entries (at most \(2 * halfCapacity))")
        }
        var body = try HDF5Cursor(file, at: address + 24, count: entries * (keySize + 8) + keySize, what: what)
        for _ in 0..<entries {
            var key = try body.take(keySize)
            guard let child = try body.address() else { throw HDF5LayoutProblem.corrupt("\(what) has an undefined child") }
            try visit(&key, level == 0 ? child : nil)
            if level > 0 { try walk(child, expectedLevel: level - 1, visit) }
        }
        var lastKey = try body.take(keySize)
        try visit(&lastKey, nil)
    }
}

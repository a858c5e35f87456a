/// The messages of a group or object that h5py's `track_order` stores in a version 2 object
/// header: links kept in the header itself (hard links only), and the link and attribute info
/// messages, which must not point to dense storage (fractal heaps, which vlsam never writes).
enum LinkMessageCheck {
    /// A link message: flags, optional link type, creation order and character set, the name's
    /// length (1 to 8 bytes, as the flags say), the name (not NUL-terminated), the object's address.
    static func link(_ cursor: inout HDF5Cursor) throws -> GroupEntry {
        let version = try cursor.u8(), flags = try cursor.u8()
        guard version == 1, flags & ~0x1F == 0 else { throw HDF5LayoutProblem.corrupt("\(cursor.what) has a link of version \(version)") }
        if flags & 0x08 != 0, try cursor.u8() != 0 { throw HDF5LayoutProblem.unsupported("soft and external links") }
        if flags & 0x04 != 0 { try cursor.skip(8) }  // creation order
        if flags & 0x10 != 0 { try cursor.skip(1) }  // character set
        let length = try (0..<(1 << (flags & 3))).reduce(0) { value, byte in value | (try cursor.u8()) << (8 * byte) }
        guard length > 0, length <= cursor.remaining else {
            throw HDF5LayoutProblem.corrupt("\(cursor.what) has a link name of \(length) bytes in \(cursor.remaining)")
        }
        try cursor.skip(length)
        guard let address = try cursor.address() else { throw HDF5LayoutProblem.corrupt("\(cursor.what) links to nothing") }
        return GroupEntry(objectAddress: address, cachedSymbolTable: nil)
    }

    /// A link info (`links`) or attribute info message: flags, an optional maximum creation index
    /// (8 bytes for links, 2 for attributes), the dense storage's fractal heap and index addresses.
    static func checkCompactStorage(_ cursor: inout HDF5Cursor, links: Bool) throws {
        let version = try cursor.u8(), flags = try cursor.u8()
        guard version == 0, flags & ~3 == 0 else { throw HDF5LayoutProblem.corrupt("\(cursor.what) has an info message of version \(version)") }
        if flags & 1 != 0 { try cursor.skip(links ? 8 : 2) }
        guard try cursor.address() == nil else { throw HDF5LayoutProblem.unsupported("dense \(links ? "link" : "attribute") storage") }
        try cursor.skip(flags & 2 != 0 ? 16 : 8)
    }
}

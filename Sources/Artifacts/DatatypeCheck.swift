/// Decodes a datatype message within its bounds. libhdf5 1.10.8 decodes datatypes without
/// checking them against the message's size (member and enum names are copied with `strdup`),
/// so every field is checked here first. Accepted: integers, floats, fixed-length strings,
/// enums over integers (numpy bools), compounds of those (h5py records), and variable-length
/// strings at the top level, which is everything vlsam and h5py's fixtures store.
enum DatatypeCheck {
    /// The variable-length strings' stored reference: length (4), collection address (8), index (4).
    static let referenceSize = 16
    private static let maximumNesting = 4

    static func decode(_ cursor: inout HDF5Cursor) throws -> StoredDatatype {
        try decode(&cursor, depth: 0)
    }

    private static func decode(_ cursor: inout HDF5Cursor, depth: Int) throws -> StoredDatatype {
        guard depth <= maximumNesting else { throw HDF5LayoutProblem.unsupported("datatypes nested more than \(maximumNesting) deep") }
        let classAndVersion = try cursor.u8()
        let typeClass = classAndVersion & 0x0F, version = classAndVersion >> 4
        let bits = try cursor.u8() | cursor.u8() << 8 | cursor.u8() << 16
        let size = try cursor.u32()
        guard (1...3).contains(version) else { throw HDF5LayoutProblem.unsupported("datatype version \(version)") }
        guard size > 0 else { throw HDF5LayoutProblem.corrupt("\(cursor.what) stores a datatype of size 0") }
        switch typeClass {
        case 0:  // fixed-point: bit offset, precision
            try checkBitField(offset: try cursor.u16(), precision: try cursor.u16(), size: size, cursor.what)
        case 1:  // floating-point: bit offset, precision, exponent and mantissa positions and sizes, bias
            let offset = try cursor.u16(), precision = try cursor.u16()
            try checkBitField(offset: offset, precision: precision, size: size, cursor.what)
            let exponent = (position: try cursor.u8(), size: try cursor.u8())
            let mantissa = (position: try cursor.u8(), size: try cursor.u8())
            try cursor.skip(4)
            guard exponent.size > 0, mantissa.size > 0, exponent.position + exponent.size <= precision,
                  mantissa.position + mantissa.size <= precision else {
                throw HDF5LayoutProblem.corrupt("\(cursor.what) stores a floating-point layout outside its \(precision) bits")
            }
        case 3:  // fixed-length string: no properties
            break
        case 6:
            try checkCompound(&cursor, version: version, members: bits & 0xFFFF, size: size, depth: depth)
        case 8:
            try checkEnumeration(&cursor, version: version, members: bits & 0xFFFF, depth: depth)
        case 9 where depth == 0:
            guard bits & 0x0F == 1 else { throw HDF5LayoutProblem.unsupported("variable-length sequences other than strings") }
            let base = try decode(&cursor, depth: depth + 1)
            guard size == referenceSize, base.size == 1, !base.isVariableLengthString else {
                throw HDF5LayoutProblem.corrupt("\(cursor.what) stores a variable-length string of size \(size) over \(base.size)-byte characters")
            }
            return StoredDatatype(size: size, isVariableLengthString: true)
        default:
            throw HDF5LayoutProblem.unsupported("datatype class \(typeClass)\(typeClass == 9 ? " inside another datatype" : "")")
        }
        return StoredDatatype(size: size, isVariableLengthString: false)
    }

    private static func checkBitField(offset: Int, precision: Int, size: Int, _ what: String) throws {
        guard precision > 0, offset + precision <= size * 8, size <= 16 else {
            throw HDF5LayoutProblem.corrupt("\(what) stores \(precision) bits at bit \(offset) of a \(size)-byte number")
        }
    }

    /// Members: name, byte offset, (version 1: array dimensions, which must be none), datatype;
    /// each member must lie within the record.
    private static func checkCompound(_ cursor: inout HDF5Cursor, version: Int, members: Int, size: Int, depth: Int) throws {
        guard members > 0 else { throw HDF5LayoutProblem.corrupt("\(cursor.what) stores a compound without members") }
        for _ in 0..<members {
            let start = cursor.position
            try cursor.skipTerminatedName()
            let offset: Int
            if version < 3 {
                try cursor.alignTo8(from: start)
                offset = try cursor.u32()
            } else {
                // Version 3 stores the offset in as few bytes as the record size needs.
                let width = size < 1 << 8 ? 1 : size < 1 << 16 ? 2 : size < 1 << 24 ? 3 : 4
                offset = try (0..<width).reduce(0) { value, byte in value | (try cursor.u8()) << (8 * byte) }
            }
            if version == 1 {
                let dimensions = try cursor.u8()
                guard dimensions == 0 else { throw HDF5LayoutProblem.unsupported("compound members with array dimensions") }
                try cursor.skip(3 + 4 + 4 + 16)
            }
            let member = try decode(&cursor, depth: depth + 1)
            guard offset + member.size <= size else {
                throw HDF5LayoutProblem.corrupt("\(cursor.what) stores a compound member at byte \(offset) past its \(size)-byte record")
            }
        }
    }

    /// An integer base type, then the member names and their values.
    private static func checkEnumeration(_ cursor: inout HDF5Cursor, version: Int, members: Int, depth: Int) throws {
        let baseStart = cursor.position
        let base = try decode(&cursor, depth: depth + 1)
        guard cursor.file[baseStart] & 0x0F == 0 else { throw HDF5LayoutProblem.unsupported("enumerations over non-integers") }
        for _ in 0..<members {
            let start = cursor.position
            try cursor.skipTerminatedName()
            if version < 3 { try cursor.alignTo8(from: start) }
        }
        try cursor.skip(members * base.size)
    }
}

/// What the structure check needs to know of a stored datatype.
struct StoredDatatype {
    /// Bytes per element as stored (16 for a variable-length string reference).
    let size: Int
    let isVariableLengthString: Bool
}

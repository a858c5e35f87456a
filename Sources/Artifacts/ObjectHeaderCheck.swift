/// Splits an object header into its messages, following continuation chunks: version 1 (what
/// libhdf5 writes with its default format, for vlsam and h5py alike) and version 2 (h5py's
/// `track_order`). Every message must lie within its chunk and every chunk within the file,
/// each chunk read once: libhdf5 1.10.8 reads attribute and datatype messages past a damaged
/// message's end. Version 2's checksums are libhdf5's to verify.
enum ObjectHeaderCheck {
    private static let maximumChunks = 64
    private static let version2Signature = UInt32(littleEndian: 0x5244_484F)  // "OHDR"
    private static let continuationSignature = UInt32(littleEndian: 0x4B48_434F)  // "OCHK"

    /// How the messages of one header are laid out.
    private struct Format {
        let version: Int
        /// Version 2 headers may store a creation order with each message.
        let storesCreationOrder: Bool
        var messageHeaderSize: Int { version == 1 ? 8 : storesCreationOrder ? 6 : 4 }
    }

    static func messages(at address: Int, in file: UnsafeRawBufferPointer, claims: StructureClaims) throws -> [HeaderMessage] {
        let what = "object header at byte \(address)"
        let (format, firstChunk) = try prefix(at: address, in: file, what: what)
        var chunks = [firstChunk]
        var messages: [HeaderMessage] = []
        var index = 0
        while index < chunks.count {
            var cursor = try HDF5Cursor(file, at: chunks[index].start, count: chunks[index].count, what: what)
            index += 1
            // Version 2 chunks may end in a gap too small for a message.
            while cursor.remaining >= (format.version == 1 ? 1 : format.messageHeaderSize) {
                let message = try nextMessage(&cursor, format: format)
                guard message.type == HeaderMessage.Kind.continuation.rawValue else {
                    messages.append(message)
                    continue
                }
                let next = try continuation(message, in: file, format: format, what: what)
                try claims.claim(next.start, what: "continuation of \(what) at byte \(next.start)")
                guard chunks.count < maximumChunks else {
                    throw HDF5LayoutProblem.corrupt("\(what) continues into more than \(maximumChunks) chunks")
                }
                chunks.append(next)
            }
        }
        return messages
    }

    /// The header's format and its first chunk of messages.
    private static func prefix(at address: Int, in file: UnsafeRawBufferPointer,
                               what: String) throws -> (Format, (start: Int, count: Int)) {
        var prefix = try HDF5Cursor(file, at: address, count: min(16, file.count - address), what: what)
        let first = try prefix.u8()
        if first == 1 {
            try prefix.skip(1 + 2 + 4)  // reserved, message count (libhdf5 tolerates a wrong one), reference count
            let size = try prefix.u32()
            return (Format(version: 1, storesCreationOrder: false), (address + 16, size))
        }
        var header = try HDF5Cursor(file, at: address, count: min(40, file.count - address), what: what)
        guard try header.u32() == version2Signature, try header.u8() == 2 else {
            throw HDF5LayoutProblem.corrupt("\(what) has no known version")
        }
        let flags = try header.u8()
        if flags & 0x20 != 0 { try header.skip(16) }  // times
        if flags & 0x10 != 0 { try header.skip(4) }  // attribute storage phase change values
        let sizeWidth = 1 << (flags & 3)
        let size = try (0..<sizeWidth).reduce(0) { value, byte in value | (try header.u8()) << (8 * byte) }
        let start = header.position
        // The messages, then a 4-byte checksum.
        _ = try HDF5Cursor(file, at: start, count: size + 4, what: what)
        return (Format(version: 2, storesCreationOrder: flags & 0x04 != 0), (start, size))
    }

    private static func nextMessage(_ cursor: inout HDF5Cursor, format: Format) throws -> HeaderMessage {
        let type = try format.version == 1 ? cursor.u16() : cursor.u8()
        let size = try cursor.u16(), flags = try cursor.u8()
        try cursor.skip(format.messageHeaderSize - (format.version == 1 ? 5 : 4))  // reserved, or creation order
        guard format.version == 2 || size % 8 == 0 else {
            throw HDF5LayoutProblem.corrupt("\(cursor.what) has a message of \(size) bytes, not a multiple of 8")
        }
        guard flags & 0x02 == 0 else { throw HDF5LayoutProblem.unsupported("shared object header messages") }
        let message = HeaderMessage(type: type, start: cursor.position, count: size)
        try cursor.skip(size)
        return message
    }

    /// The chunk a continuation message points to: bare messages in version 1; in version 2
    /// a signature, the messages and a checksum.
    private static func continuation(_ message: HeaderMessage, in file: UnsafeRawBufferPointer,
                                     format: Format, what: String) throws -> (start: Int, count: Int) {
        var cursor = try HDF5Cursor(file, at: message.start, count: message.count, what: what)
        guard let start = try cursor.address() else { throw HDF5LayoutProblem.corrupt("\(what) continues nowhere") }
        let count = try cursor.length()
        var chunk = try HDF5Cursor(file, at: start, count: count, what: "continuation of \(what)")
        guard format.version == 2 else { return (start, count) }
        guard count >= 8, try chunk.u32() == continuationSignature else {
            throw HDF5LayoutProblem.corrupt("continuation of \(what) at byte \(start) has no chunk signature")
        }
        return (start + 4, count - 8)
    }
}

/// One message of an object header: its type and where its bytes are.
struct HeaderMessage {
    /// The message types the structure check knows (HDF5 file format specification, IV.A.2).
    enum Kind: Int {
        case null = 0x00, dataspace = 0x01, linkInfo = 0x02, datatype = 0x03, oldFillValue = 0x04, fillValue = 0x05
        case link = 0x06, layout = 0x08, groupInfo = 0x0A, filters = 0x0B, attribute = 0x0C
        case oldModificationTime = 0x0E, continuation = 0x10, symbolTable = 0x11, modificationTime = 0x12
        case attributeInfo = 0x15
    }

    let type: Int
    let start: Int
    let count: Int
}

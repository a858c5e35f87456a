/// Bounds-checked little-endian reads from a byte range; running past the end throws an error
/// naming the file and the structure being read (`context`), never traps.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var context: String
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer, path: String, context: String) {
        self.bytes = bytes
        self.path = path
        self.context = context
    }

    var isAtEnd: Bool { position >= bytes.count }

    func error(_ problem: String, kind: CheckpointError.Kind = .malformed) -> CheckpointError {
        CheckpointError(path: path, kind: kind, problem: "\(context): \(problem)")
    }

    func checkRange(_ offset: Int, _ count: Int) throws {
        guard offset >= 0, count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw error("needs \(grouped(count)) bytes at offset \(grouped(offset)) but it is only \(grouped(bytes.count)) bytes long (truncated?)",
                        kind: .truncated)
        }
    }

    func integer<T: FixedWidthInteger>(at offset: Int, as type: T.Type = T.self) throws -> T {
        try checkRange(offset, MemoryLayout<T>.size)
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    func slice(at offset: Int, count: Int) throws -> UnsafeRawBufferPointer {
        try checkRange(offset, count)
        return UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + count])
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let value = try integer(at: position, as: T.self)
        position += MemoryLayout<T>.size
        return value
    }

    mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        let result = try slice(at: position, count: count)
        position += count
        return result
    }

    /// Bytes up to the next newline, which is consumed but not returned.
    mutating func readLine() throws -> String {
        guard let newline = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) else {
            throw error("unterminated line at offset \(grouped(position))", kind: .truncated)
        }
        let line = String(decoding: bytes[position ..< newline], as: UTF8.self)
        position = newline + 1
        return line
    }
}

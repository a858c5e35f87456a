/// Little-endian reads over one structure of a mapped HDF5 file, never past the structure's end:
/// a read that would go past it throws, so a damaged size or count stops the structure check
/// instead of reading outside the structure the way libhdf5 would.
struct HDF5Cursor {
    let file: UnsafeRawBufferPointer
    /// What the structure is, for errors ("object header at byte 96").
    let what: String
    private(set) var position: Int
    let end: Int

    /// The `count` bytes at `start`, which must lie within the file.
    init(_ file: UnsafeRawBufferPointer, at start: Int, count: Int, what: String) throws {
        guard start >= 0, count >= 0, count <= file.count, start <= file.count - count else {
            throw HDF5LayoutProblem.corrupt("\(what) (\(count) bytes at byte \(start)) lies outside the \(file.count)-byte file")
        }
        self.file = file
        self.what = what
        position = start
        end = start + count
    }

    var remaining: Int { end - position }

    mutating func skip(_ count: Int) throws {
        guard count >= 0, count <= remaining else { throw overrun(count) }
        position += count
    }

    /// The next `count` bytes as a cursor of their own, skipped here.
    mutating func take(_ count: Int, what: String? = nil) throws -> HDF5Cursor {
        guard count >= 0, count <= remaining else { throw overrun(count) }
        defer { position += count }
        return try HDF5Cursor(file, at: position, count: count, what: what ?? self.what)
    }

    /// Skips to the next multiple of 8 bytes from `start` (version 1 structures pad their fields).
    mutating func alignTo8(from start: Int) throws {
        try skip((8 - (position - start) % 8) % 8)
    }

    /// Reads a structure's 4-byte ASCII signature and its version byte, refusing any other.
    mutating func expectSignature(_ signature: String, version: Int) throws {
        let found = try (0..<4).map { _ in UInt8(try u8()) }
        guard found == Array(signature.utf8), try u8() == version else {
            throw HDF5LayoutProblem.corrupt("\(what) has no \(signature) signature of version \(version)")
        }
    }

    mutating func u8() throws -> Int { Int(try read(UInt8.self)) }
    mutating func u16() throws -> Int { Int(UInt16(littleEndian: try read(UInt16.self))) }
    mutating func u32() throws -> Int { Int(UInt32(littleEndian: try read(UInt32.self))) }

    mutating func u64() throws -> UInt64 { UInt64(littleEndian: try read(UInt64.self)) }

    /// An 8-byte length or count; beyond `Int.max` is corrupt.
    mutating func length() throws -> Int {
        let value = try u64()
        guard let exact = Int(exactly: value) else { throw HDF5LayoutProblem.corrupt("\(what) stores a length of \(value)") }
        return exact
    }

    /// An 8-byte file address; nil for HDF5's undefined address (all bits set).
    mutating func address() throws -> Int? {
        let value = try u64()
        guard value != .max else { return nil }
        guard let exact = Int(exactly: value), exact < file.count else {
            throw HDF5LayoutProblem.corrupt("\(what) points to byte \(value), past the end of the \(file.count)-byte file")
        }
        return exact
    }

    /// A name of `count` bytes that must end with its only NUL (libhdf5 copies names with `strdup`).
    mutating func name(count: Int) throws -> String {
        guard count >= 1, count <= remaining else { throw overrun(count) }
        let bytes = UnsafeRawBufferPointer(rebasing: file[position ..< position + count])
        guard bytes.firstIndex(of: 0) == count - 1 else {
            throw HDF5LayoutProblem.corrupt("\(what) holds a name of \(count) bytes that is not NUL-terminated at its end")
        }
        position += count
        return String(decoding: bytes.dropLast(), as: UTF8.self)
    }

    /// Skips a NUL-terminated name, which must end within the structure.
    mutating func skipTerminatedName() throws {
        guard let terminator = file[position ..< end].firstIndex(of: 0) else {
            throw HDF5LayoutProblem.corrupt("\(what) holds a name with no NUL before its end")
        }
        position = terminator + 1
    }

    private mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw overrun(size) }
        defer { position += size }
        return file.loadUnaligned(fromByteOffset: position, as: T.self)
    }

    private func overrun(_ count: Int) -> HDF5LayoutProblem {
        .corrupt("\(what) needs \(count) more bytes at byte \(position), past its end at byte \(end)")
    }
}

/// Why the structure check refuses a file: damage, or a part of HDF5 that vlsam's own files never use.
enum HDF5LayoutProblem: Error {
    case corrupt(String)
    case unsupported(String)

    var description: String {
        switch self {
        case .corrupt(let problem): return "corrupt HDF5 structure: \(problem)"
        case .unsupported(let feature): return "not an HDF5 layout vlsam writes: \(feature)"
        }
    }
}

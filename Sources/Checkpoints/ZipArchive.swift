/// A minimal reader for the zip archives `torch.save` writes: it reads the central directory
/// (including ZIP64 records, which multi-GB checkpoints use) and hands out stored entries as
/// slices of the mapped file. Compressed entries are rejected when read, and every entry read is
/// checked against its CRC-32.
struct ZipArchive {
    struct Entry {
        let name: String
        let method: UInt16
        let flags: UInt16
        let size: Int
        let localHeaderOffset: Int
        let crc32: UInt32
    }

    let file: MappedFile
    /// Entry names in central-directory order.
    let names: [String]
    private let entries: [String: Entry]

    private static let endOfCentralDirectorySignature: UInt32 = 0x0605_4b50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    private static let zip64EndSignature: UInt32 = 0x0606_4b50
    private static let centralEntrySignature: UInt32 = 0x0201_4b50
    private static let localHeaderSignature: UInt32 = 0x0403_4b50
    private static let zip64ExtraFieldID: UInt16 = 0x0001

    init(_ file: MappedFile) throws {
        self.file = file
        let reader = ByteReader(file.bytes, path: file.path, context: "zip archive")
        let directory = try Self.locateCentralDirectory(reader)

        var names: [String] = []
        var entries: [String: Entry] = [:]
        names.reserveCapacity(directory.entryCount)
        var offset = directory.offset
        let end = directory.offset + directory.size
        for index in 0 ..< directory.entryCount {
            guard offset + 46 <= end,
                  try reader.integer(at: offset, as: UInt32.self) == Self.centralEntrySignature else {
                throw file.error("corrupt zip: central directory entry \(index) of \(directory.entryCount) is missing or malformed")
            }
            let entry = try Self.readCentralEntry(reader, at: offset)
            offset = entry.next
            guard entries.updateValue(entry.entry, forKey: entry.entry.name) == nil else {
                throw file.error("corrupt zip: entry '\(entry.entry.name.oneLine())' appears twice in the central directory")
            }
            names.append(entry.entry.name)
        }
        self.names = names
        self.entries = entries
    }

    func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The stored size of an entry as the central directory records it, without reading it.
    func size(of name: String) -> Int? { entries[name]?.size }

    /// The bytes of a stored (uncompressed) entry, in place in the mapped file, once they match
    /// the CRC-32 the central directory records for them. That is a pass over the bytes (about
    /// 2.5 GB/s), so callers read each entry once.
    func contents(of name: String) throws -> UnsafeRawBufferPointer {
        guard let entry = entries[name] else {
            throw file.error("zip entry '\(name.oneLine())' is missing")
        }
        guard entry.flags & 1 == 0 else {
            throw file.error("zip entry '\(name.oneLine())' is encrypted", kind: .unsupported)
        }
        guard entry.method == 0 else {
            throw file.error("zip entry '\(name.oneLine())' is compressed (method \(entry.method)); torch.save stores entries uncompressed, so this archive was rewritten by another tool",
                             kind: .unsupported)
        }
        let reader = ByteReader(file.bytes, path: file.path, context: "zip entry '\(name.oneLine())'")
        guard entry.localHeaderOffset <= file.bytes.count - 30 else {
            throw file.error("truncated: the local header of zip entry '\(name.oneLine())' would be at offset \(grouped(entry.localHeaderOffset)), past the end of the \(grouped(file.bytes.count))-byte file",
                             kind: .truncated)
        }
        let nameLength = Int(try reader.integer(at: entry.localHeaderOffset + 26, as: UInt16.self))
        let extraLength = Int(try reader.integer(at: entry.localHeaderOffset + 28, as: UInt16.self))
        guard try reader.integer(at: entry.localHeaderOffset, as: UInt32.self) == Self.localHeaderSignature,
              try reader.slice(at: entry.localHeaderOffset + 30, count: nameLength).elementsEqual(name.utf8) else {
            throw file.error("corrupt zip: no local header of '\(name.oneLine())' at offset \(grouped(entry.localHeaderOffset))")
        }
        let dataOffset = entry.localHeaderOffset + 30 + nameLength + extraLength
        guard entry.size <= file.bytes.count else {
            throw file.error("zip entry '\(name.oneLine())' announces \(grouped(entry.size)) bytes, more than the whole \(grouped(file.bytes.count))-byte file",
                             kind: .tooLarge)
        }
        guard dataOffset <= file.bytes.count, entry.size <= file.bytes.count - dataOffset else {
            throw file.error("truncated: zip entry '\(name.oneLine())' needs \(grouped(entry.size)) bytes from offset \(grouped(dataOffset)) but the file ends at \(grouped(file.bytes.count))",
                             kind: .truncated)
        }
        let data = UnsafeRawBufferPointer(rebasing: file.bytes[dataOffset ..< dataOffset + entry.size])
        let checksum = CRC32.checksum(data)
        guard checksum == entry.crc32 || !CRC32.isEnforced else {
            throw file.error("zip entry '\(name.oneLine())' is corrupt: its CRC-32 is \(hex(checksum)) but the archive records \(hex(entry.crc32))",
                             kind: .checksumMismatch)
        }
        return data
    }

    private struct CentralDirectory {
        let offset: Int
        let size: Int
        let entryCount: Int
    }

    /// Finds the end-of-central-directory record (searching back over a possible comment)
    /// and, when a ZIP64 locator precedes it, the ZIP64 record with the full-width values.
    private static func locateCentralDirectory(_ reader: ByteReader) throws -> CentralDirectory {
        let bytes = reader.bytes
        let minimumRecord = 22
        guard bytes.count >= minimumRecord else {
            throw reader.error("truncated: only \(grouped(bytes.count)) bytes, too short for a zip end record", kind: .truncated)
        }
        let lowestStart = max(0, bytes.count - minimumRecord - Int(UInt16.max))
        var recordOffset: Int?
        for candidate in stride(from: bytes.count - minimumRecord, through: lowestStart, by: -1)
        where bytes.loadUnaligned(fromByteOffset: candidate, as: UInt32.self) == endOfCentralDirectorySignature {
            recordOffset = candidate
            break
        }
        guard let recordOffset else {
            throw reader.error("truncated or corrupt: no end-of-central-directory record in the last \(grouped(bytes.count - lowestStart)) bytes of \(grouped(bytes.count))",
                               kind: .truncated)
        }

        var entryCount = Int(try reader.integer(at: recordOffset + 10, as: UInt16.self))
        var size = Int(try reader.integer(at: recordOffset + 12, as: UInt32.self))
        var offset = Int(try reader.integer(at: recordOffset + 16, as: UInt32.self))
        var directoryEnd = recordOffset

        let locatorOffset = recordOffset - 20
        if locatorOffset >= 0, try reader.integer(at: locatorOffset, as: UInt32.self) == zip64LocatorSignature {
            let zip64Offset = try Int(exactly: reader.integer(at: locatorOffset + 8, as: UInt64.self))
            guard let zip64Offset, zip64Offset <= locatorOffset - 56,
                  try reader.integer(at: zip64Offset, as: UInt32.self) == zip64EndSignature else {
                throw reader.error("corrupt: ZIP64 locator points to no ZIP64 end record")
            }
            let wideCount = try reader.integer(at: zip64Offset + 32, as: UInt64.self)
            let wideSize = try reader.integer(at: zip64Offset + 40, as: UInt64.self)
            let wideOffset = try reader.integer(at: zip64Offset + 48, as: UInt64.self)
            guard let count = Int(exactly: wideCount), let width = Int(exactly: wideSize),
                  let start = Int(exactly: wideOffset) else {
                throw reader.error("corrupt: ZIP64 end record holds out-of-range values")
            }
            entryCount = count
            size = width
            offset = start
            directoryEnd = zip64Offset
        }
        guard offset <= directoryEnd, size <= directoryEnd - offset else {
            throw reader.error("truncated or corrupt: central directory (offset \(grouped(offset)), \(grouped(size)) bytes) does not fit before its end record at \(grouped(directoryEnd))",
                               kind: .truncated)
        }
        // Each central entry takes at least 46 bytes, which bounds a corrupt count.
        guard entryCount <= size / 46 else {
            throw reader.error("corrupt: \(grouped(entryCount)) entries cannot fit in a \(grouped(size))-byte central directory",
                               kind: .tooLarge)
        }
        return CentralDirectory(offset: offset, size: size, entryCount: entryCount)
    }

    private static func readCentralEntry(_ reader: ByteReader, at offset: Int) throws -> (entry: Entry, next: Int) {
        let flags = try reader.integer(at: offset + 8, as: UInt16.self)
        let method = try reader.integer(at: offset + 10, as: UInt16.self)
        let crc32 = try reader.integer(at: offset + 16, as: UInt32.self)
        let compressedSize = try reader.integer(at: offset + 20, as: UInt32.self)
        let uncompressedSize = try reader.integer(at: offset + 24, as: UInt32.self)
        let nameLength = Int(try reader.integer(at: offset + 28, as: UInt16.self))
        let extraLength = Int(try reader.integer(at: offset + 30, as: UInt16.self))
        let commentLength = Int(try reader.integer(at: offset + 32, as: UInt16.self))
        let localHeaderOffset = try reader.integer(at: offset + 42, as: UInt32.self)
        let name = String(decoding: try reader.slice(at: offset + 46, count: nameLength), as: UTF8.self)
        let extra = try reader.slice(at: offset + 46 + nameLength, count: extraLength)

        // ZIP64: a field that reads 0xFFFFFFFF is stored in the 0x0001 extra field instead,
        // in the fixed order uncompressed size, compressed size, local header offset.
        var wideUncompressed = UInt64(uncompressedSize)
        var wideCompressed = UInt64(compressedSize)
        var wideLocalOffset = UInt64(localHeaderOffset)
        if uncompressedSize == .max || compressedSize == .max || localHeaderOffset == .max {
            guard var zip64 = try zip64ExtraField(extra, reader: reader, entryName: name) else {
                throw reader.error("corrupt: entry '\(name.oneLine())' has 32-bit overflow markers but no ZIP64 extra field")
            }
            if uncompressedSize == .max { wideUncompressed = try zip64.read(UInt64.self) }
            if compressedSize == .max { wideCompressed = try zip64.read(UInt64.self) }
            if localHeaderOffset == .max { wideLocalOffset = try zip64.read(UInt64.self) }
        }
        guard let size = Int(exactly: method == 0 ? wideUncompressed : wideCompressed),
              let localOffset = Int(exactly: wideLocalOffset) else {
            throw reader.error("corrupt: entry '\(name.oneLine())' has out-of-range size or offset", kind: .tooLarge)
        }
        if method == 0 && wideCompressed != wideUncompressed {
            throw reader.error("corrupt: stored entry '\(name.oneLine())' has different compressed (\(wideCompressed)) and uncompressed (\(wideUncompressed)) sizes")
        }
        let entry = Entry(name: name, method: method, flags: flags, size: size, localHeaderOffset: localOffset, crc32: crc32)
        return (entry, offset + 46 + nameLength + extraLength + commentLength)
    }

    /// A reader over the body of the ZIP64 extended-information extra field, if present.
    private static func zip64ExtraField(_ extra: UnsafeRawBufferPointer, reader: ByteReader,
                                        entryName: String) throws -> ByteReader? {
        let fields = ByteReader(extra, path: reader.path, context: "zip entry '\(entryName.oneLine())' extra field")
        var offset = 0
        while offset + 4 <= extra.count {
            let id = try fields.integer(at: offset, as: UInt16.self)
            let length = Int(try fields.integer(at: offset + 2, as: UInt16.self))
            let body = try fields.slice(at: offset + 4, count: length)
            if id == zip64ExtraFieldID {
                return ByteReader(body, path: reader.path, context: "zip entry '\(entryName.oneLine())' ZIP64 field")
            }
            offset += 4 + length
        }
        return nil
    }
}

/// A CRC as zip tools print it, e.g. 0x1C291CA3.
private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}

import Foundation

/// Refuses files on which HDF5 1.10's global heap parser would never return. Variable-length
/// strings (every artifact's names and attributes) live in global heap collections, and
/// `H5HG__cache_heap_deserialize` (libhdf5 1.10.8, Debian 12's) walks a collection's objects by
/// their stored sizes: a free-space object of size 0 makes it loop forever on the same bytes, and
/// a size past the collection's end sends it reading outside. Found by fuzzing the artifact
/// readers; the check walks every collection (signature "GCOL") the way the library does.
enum GlobalHeapCheck {
    private static let signature = UInt32(littleEndian: 0x4C4F_4347)  // "GCOL"
    private static let headerSize = 16, objectHeaderSize = 16

    static func check(_ path: String) throws {
        // A file that cannot be mapped is left to HDF5, whose error names the problem.
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return }
        try data.withUnsafeBytes { bytes in
            guard bytes.count >= headerSize else { return }
            for start in 0 ... bytes.count - headerSize
            where bytes.loadUnaligned(fromByteOffset: start, as: UInt32.self) == signature {
                if let problem = problem(inCollectionAt: start, of: bytes) {
                    throw ArtifactError(.unreadable, file: path, "corrupt global heap collection at byte \(start): \(problem)")
                }
            }
        }
    }

    /// What would stop the library's walk over the collection at `start`, or nil. Collections of
    /// another version or reaching past the end of the file are refused by HDF5 itself.
    private static func problem(inCollectionAt start: Int, of bytes: UnsafeRawBufferPointer) -> String? {
        let size = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self))
        guard bytes[start + 4] == 1, size >= UInt64(headerSize), size <= UInt64(bytes.count - start) else { return nil }
        let end = start + Int(size)
        var position = start + headerSize
        while end - position >= objectHeaderSize {
            let index = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self))
            let objectSize = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 8, as: UInt64.self))
            let room = UInt64(end - position)
            // Object 0 is the free space, its size counting its own header; others are padded to 8 bytes.
            let needed = index == 0 ? objectSize : objectSize > room ? room + 1 : UInt64(objectHeaderSize) + (objectSize + 7) / 8 * 8
            guard needed > 0 else { return "its free-space object at byte \(position) has size 0" }
            guard needed <= room else {
                return "object \(index) at byte \(position) claims \(objectSize) bytes, more than the \(room) left in the collection"
            }
            position += Int(needed)
        }
        return nil
    }
}

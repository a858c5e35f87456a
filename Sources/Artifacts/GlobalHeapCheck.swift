/// Finds the global heap collections, where variable-length strings (every artifact's names and
/// attributes) live, and refuses the ones on which HDF5 1.10's parser would never return.
/// `H5HG__cache_heap_deserialize` (libhdf5 1.10.8, Debian 12's) walks a collection's objects by
/// their stored sizes: a free-space object of size 0 makes it loop forever on the same bytes, and
/// a size past the collection's end sends it reading outside. Found by fuzzing the artifact
/// readers; every collection (signature "GCOL") is walked the way the library walks it.
enum GlobalHeapCheck {
    private static let signature = UInt32(littleEndian: 0x4C4F_4347)  // "GCOL"
    private static let headerSize = 16, objectHeaderSize = 16

    /// The collections by address, each with its objects' sizes by index (the free space, index 0, left out).
    static func collections(in bytes: UnsafeRawBufferPointer) throws -> VariableLengthStringCheck.Collections {
        var collections: VariableLengthStringCheck.Collections = [:]
        guard bytes.count >= headerSize else { return collections }
        for start in 0 ... bytes.count - headerSize
        where bytes.loadUnaligned(fromByteOffset: start, as: UInt32.self) == signature {
            collections[start] = try objects(inCollectionAt: start, of: bytes)
        }
        return collections.filter { !$0.value.isEmpty }
    }

    /// The objects of the collection at `start` as the library's walk finds them. Collections of
    /// another version or reaching past the end of the file are refused by HDF5 itself, and have none.
    private static func objects(inCollectionAt start: Int, of bytes: UnsafeRawBufferPointer) throws -> [Int: Int] {
        let size = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self))
        guard bytes[start + 4] == 1, size >= UInt64(headerSize), size <= UInt64(bytes.count - start) else { return [:] }
        let end = start + Int(size)
        var position = start + headerSize
        var objects: [Int: Int] = [:]
        while end - position >= objectHeaderSize {
            let index = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self)))
            let objectSize = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 8, as: UInt64.self))
            let room = UInt64(end - position)
            // Object 0 is the free space, its size counting its own header; others are padded to 8 bytes.
            let needed = index == 0 ? objectSize : objectSize > room ? room + 1 : UInt64(objectHeaderSize) + (objectSize + 7) / 8 * 8
            let what = "global heap collection at byte \(start)"
            guard needed > 0 else { throw HDF5LayoutProblem.corrupt("\(what): its free-space object at byte \(position) has size 0") }
            guard needed <= room else {
                throw HDF5LayoutProblem.corrupt(
                    "\(what): object \(index) at byte \(position) claims \(objectSize) bytes, more than the \(room) left in the collection")
            }
            if index != 0 { objects[index] = Int(objectSize) }
            position += Int(needed)
        }
        return objects
    }
}

/// The CRC-32 of zip and zlib (reflected polynomial 0xEDB88320), sixteen bytes per step with
/// sixteen lookup tables ("slicing-by-16"): only the first four lookups of a step wait for the
/// previous remainder, so the CPU overlaps the other twelve with them.
enum CRC32 {
    /// False only in fuzzing builds (`make fuzz` compiles with -DFUZZING): a random mutation
    /// almost never keeps a checksum right, and the parsers behind the check are what the fuzzer
    /// is for. Inputs it finds that way get their CRC fixed before they become regression tests.
    #if FUZZING
    static let isEnforced = false
    #else
    static let isEnforced = true
    #endif

    /// Table k holds the remainder of byte i followed by k zero bytes, at k·256 + i.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 16 * 256)
        for byte in 0 ..< 256 {
            var remainder = UInt32(byte)
            for _ in 0 ..< 8 {
                remainder = remainder & 1 == 1 ? (remainder >> 1) ^ 0xEDB8_8320 : remainder >> 1
            }
            tables[byte] = remainder
        }
        for slice in 1 ..< 16 {
            for byte in 0 ..< 256 {
                let previous = tables[(slice - 1) * 256 + byte]
                tables[slice * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard var cursor = bytes.baseAddress else { return 0 }
        var remaining = bytes.count
        var crc: UInt32 = 0xFFFF_FFFF
        tables.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            /// The lookups of the four bytes of `word`, the first through table `slice` + 3.
            @inline(__always) func lookups(_ word: UInt32, _ slice: Int) -> UInt32 {
                t[(slice + 3) * 256 + Int(word & 0xFF)] ^ t[(slice + 2) * 256 + Int((word >> 8) & 0xFF)]
                    ^ t[(slice + 1) * 256 + Int((word >> 16) & 0xFF)] ^ t[slice * 256 + Int(word >> 24)]
            }
            while remaining >= 16 {
                let first = UInt64(littleEndian: cursor.loadUnaligned(as: UInt64.self))
                let second = UInt64(littleEndian: cursor.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                crc = (lookups(UInt32(truncatingIfNeeded: first) ^ crc, 12) ^ lookups(UInt32(truncatingIfNeeded: first >> 32), 8))
                    ^ (lookups(UInt32(truncatingIfNeeded: second), 4) ^ lookups(UInt32(truncatingIfNeeded: second >> 32), 0))
                cursor += 16
                remaining -= 16
            }
            while remaining > 0 {
                crc = t[Int((crc ^ UInt32(cursor.load(as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
                cursor += 1
                remaining -= 1
            }
        }
        return ~crc
    }
}

/// The CRC-32 of zip and zlib (reflected polynomial 0xEDB88320), eight bytes per step with eight
/// lookup tables ("slicing-by-8"): each table advances the remainder past one more byte, so the
/// eight lookups of a step are independent and run in parallel in the CPU.
enum CRC32 {
    /// Table k holds the remainder of byte i followed by k zero bytes, at k·256 + i.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0 ..< 256 {
            var remainder = UInt32(byte)
            for _ in 0 ..< 8 {
                remainder = remainder & 1 == 1 ? (remainder >> 1) ^ 0xEDB8_8320 : remainder >> 1
            }
            tables[byte] = remainder
        }
        for slice in 1 ..< 8 {
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
            while remaining >= 8 {
                let word = UInt64(littleEndian: cursor.loadUnaligned(as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ crc
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                cursor += 8
                remaining -= 8
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

/// Builds PNG files byte by byte, with uncompressed ("stored") deflate blocks, so the decoder
/// tests use fixtures that do not come from libpng or from the code under test.
enum HandBuiltPNG {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    enum ColorType: UInt8 { case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6 }

    /// `rows` are the packed scanlines of the whole image (no filter bytes). With `adam7`
    /// (byte-aligned samples only) they are split into the seven interlace passes.
    static func make(width: Int, height: Int, bitDepth: UInt8, colorType: ColorType, rows: [[UInt8]],
                     ancillary: [(type: String, data: [UInt8])] = [], adam7: Bool = false) -> [UInt8] {
        var header = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [bitDepth, colorType.rawValue, 0, 0, adam7 ? 1 : 0]
        var scanlines: [UInt8] = []
        if adam7 {
            let bytesPerPixel = rows[0].count / width
            let passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            for (x0, y0, dx, dy) in passes where x0 < width && y0 < height {
                for y in stride(from: y0, to: height, by: dy) {
                    scanlines.append(0)  // filter type None
                    for x in stride(from: x0, to: width, by: dx) {
                        scanlines += rows[y][x * bytesPerPixel ..< (x + 1) * bytesPerPixel]
                    }
                }
            }
        } else {
            for row in rows { scanlines += [0] + row }
        }
        var file = signature + chunk("IHDR", header)
        for extra in ancillary { file += chunk(extra.type, extra.data) }
        return file + chunk("IDAT", zlibStored(scanlines)) + chunk("IEND", [])
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeAndData = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + typeAndData + bigEndian(crc32(typeAndData))
    }

    /// A zlib stream made of stored deflate blocks (at most 65535 bytes each).
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out += [final, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += data[offset ..< offset + length]
            offset += length
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        return out + bigEndian(b << 16 | a)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}

import CImageCodecs

/// Decoding refuses images above this many pixels unless told otherwise (`setDecodePixelLimit`,
/// the programs' `--max-pixels`): a corrupt or hostile header must not make the process try to
/// allocate gigabytes. 100 megapixels is 300 MB of RGB.
public let defaultMaxDecodedPixels = 100_000_000

nonisolated(unsafe) private var pixelLimit = defaultMaxDecodedPixels

/// The pixel limit `decodeImage` applies by default in this process.
public func decodePixelLimit() -> Int { pixelLimit }

/// Sets the process's pixel limit (at least 1). Call it at start, before any decoding.
public func setDecodePixelLimit(_ pixels: Int) { pixelLimit = max(1, pixels) }

/// Decodes a JPEG or PNG file to 8-bit RGB, upright: the EXIF orientation (JPEG APP1, PNG eXIf)
/// is applied, so every stage sees the photo as Pillow's `exif_transpose` and OpenCV's `imread`
/// show it. The format is recognised by its magic bytes, not by the extension. Grayscale and
/// CMYK JPEGs and every PNG colour type and bit depth are converted to RGB; alpha is dropped and
/// 16-bit samples keep their high byte. Dimensions are checked against `maxPixels` before any
/// pixel is decoded. Throws `ImageError` for a missing, empty, unrecognised, truncated, corrupt,
/// unsupported or oversized file.
public func decodeImage(atPath path: String, maxPixels: Int = decodePixelLimit()) throws -> RGBImage {
    let bytes = try readFileBytes(atPath: path)
    let decoder: (UnsafePointer<UInt8>?, Int, Int, UnsafeMutablePointer<VLDecodedImage>?) -> VLCodecStatus
    let format: String
    switch ImageFormat(sniffing: bytes) {
    case .jpeg?:
        decoder = vl_decode_jpeg
        format = "JPEG"
    case .png?:
        decoder = vl_decode_png
        format = "PNG"
    case nil:
        throw ImageError(path: path, kind: .notAnImage, reason: "not a JPEG or PNG file")
    }

    var decoded = VLDecodedImage()
    let status = bytes.withUnsafeBufferPointer { buffer in
        decoder(buffer.baseAddress, buffer.count, max(1, maxPixels), &decoded)
    }
    guard status == VL_CODEC_OK else {
        let message = cString(decoded.message)
        switch status {
        case VL_CODEC_UNSUPPORTED:
            throw ImageError(path: path, kind: .unsupported, reason: message)
        case VL_CODEC_TOO_LARGE:
            throw ImageError(path: path, kind: .tooLarge, reason: "\(message) (raise it with --max-pixels)")
        case VL_CODEC_NO_MEMORY:
            throw ImageError(path: path, kind: .tooLarge, reason: message)
        default:
            throw ImageError(path: path, kind: .corrupt, reason: "corrupt or truncated \(format) data: \(message)")
        }
    }
    defer {
        vl_codec_free(decoded.pixels)
        vl_codec_free(decoded.exif)
    }
    let orientation = decoded.exif.map { ExifOrientation(exif: UnsafeRawBufferPointer(start: $0, count: decoded.exif_size)) }
    let width = Int(decoded.width), height = Int(decoded.height)
    return (orientation ?? .topLeft).upright(UnsafeBufferPointer(start: decoded.pixels, count: width * height * 3),
                                             width: width, height: height)
}

enum ImageFormat {
    case jpeg, png

    init?(sniffing bytes: [UInt8]) {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else {
            return nil
        }
    }
}

/// The text of a fixed-size, NUL-terminated C char array imported as a tuple.
func cString<Tuple>(_ characters: Tuple) -> String {
    withUnsafeBytes(of: characters) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}

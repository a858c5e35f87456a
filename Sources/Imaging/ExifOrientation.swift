/// The EXIF orientation of a photo (TIFF tag 0x0112): where the stored image's first row and
/// first column belong when it is shown upright. Cameras store the sensor's pixels and record
/// the turn here; Pillow's `ImageOps.exif_transpose` (transformers' `load_image`) and OpenCV's
/// `imread` both apply it, and so does `decodeImage`.
public enum ExifOrientation: Int, Sendable {
    case topLeft = 1      // upright
    case topRight = 2     // mirrored left-right
    case bottomRight = 3  // turned 180°
    case bottomLeft = 4   // mirrored top-bottom
    case leftTop = 5      // transposed (mirrored about the main diagonal)
    case rightTop = 6     // turned 90° clockwise to show
    case rightBottom = 7  // transversed (mirrored about the other diagonal)
    case leftBottom = 8   // turned 90° counter-clockwise to show

    /// The orientation an EXIF block (from its TIFF header on) records in IFD0. Anything
    /// malformed — too short, unknown byte order, offsets outside the block, a tag of another
    /// type, a value outside 1…8 — reads as `.topLeft`, as Pillow ignores it: a broken EXIF
    /// block must not make a photo undecodable.
    public init(exif tiff: UnsafeRawBufferPointer) {
        self = Self.read(tiff) ?? .topLeft
    }

    private static func read(_ tiff: UnsafeRawBufferPointer) -> ExifOrientation? {
        guard tiff.count >= 8 else { return nil }
        let bigEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): bigEndian = false  // "II"
        case (0x4D, 0x4D): bigEndian = true   // "MM"
        default: return nil
        }
        // Offsets are checked against the block before every read.
        func integer(at offset: Int, bytes: Int) -> Int? {
            guard offset >= 0, bytes <= tiff.count, offset <= tiff.count - bytes else { return nil }
            var value = 0
            for i in 0..<bytes {
                let byte = Int(tiff[bigEndian ? offset + i : offset + bytes - 1 - i])
                value = value << 8 | byte
            }
            return value
        }
        guard integer(at: 2, bytes: 2) == 42, let directory = integer(at: 4, bytes: 4),
              let entries = integer(at: directory, bytes: 2) else { return nil }
        for entry in 0..<entries {
            let start = directory + 2 + 12 * entry
            guard let tag = integer(at: start, bytes: 2) else { return nil }
            guard tag == 0x0112 else { continue }
            // A SHORT (type 3) as the specification says, or a LONG (type 4) as some writers put
            // it, held in the entry itself; like Pillow, the first value counts.
            guard let type = integer(at: start + 2, bytes: 2), let count = integer(at: start + 4, bytes: 4),
                  (type == 3 && (1...2).contains(count)) || (type == 4 && count == 1),
                  let value = integer(at: start + 8, bytes: type == 3 ? 2 : 4)
            else { return nil }
            return ExifOrientation(rawValue: value)
        }
        return nil
    }

    /// Whether showing it upright swaps width and height.
    public var swapsSides: Bool { rawValue >= 5 }

    /// Where stored pixel (x, y) of a `width` × `height` image lands when shown upright: at
    /// upright pixel index origin + x · xStep + y · yStep (row-major in the upright image).
    func placement(width w: Int, height h: Int) -> (origin: Int, xStep: Int, yStep: Int) {
        switch self {
        case .topLeft: return (0, 1, w)
        case .topRight: return (w - 1, -1, w)
        case .bottomRight: return ((h - 1) * w + w - 1, -1, -w)
        case .bottomLeft: return ((h - 1) * w, 1, -w)
        case .leftTop: return (0, h, 1)
        case .rightTop: return (h - 1, h, -1)
        case .rightBottom: return ((w - 1) * h + h - 1, -h, -1)
        case .leftBottom: return ((w - 1) * h, -h, 1)
        }
    }

    /// The stored `width` × `height` RGB pixels turned upright: the same transposition as
    /// Pillow's `exif_transpose`.
    func upright(_ stored: UnsafeBufferPointer<UInt8>, width: Int, height: Int) -> RGBImage {
        let (uprightWidth, uprightHeight) = swapsSides ? (height, width) : (width, height)
        // The usual case is a plain copy.
        guard self != .topLeft else { return RGBImage(width: width, height: height, pixels: Array(stored)) }
        let (origin, xStep, yStep) = placement(width: width, height: height)
        let pixels = [UInt8](unsafeUninitializedCapacity: stored.count) { target, initialized in
            for y in 0..<height {
                var source = y * width * 3
                var destination = (origin + y * yStep) * 3
                for _ in 0..<width {
                    target[destination] = stored[source]
                    target[destination + 1] = stored[source + 1]
                    target[destination + 2] = stored[source + 2]
                    source += 3
                    destination += xStep * 3
                }
            }
            initialized = stored.count
        }
        return RGBImage(width: uprightWidth, height: uprightHeight, pixels: pixels)
    }
}

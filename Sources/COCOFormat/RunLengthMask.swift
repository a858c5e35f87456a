/// A binary mask in COCO's run-length encoding, the one pycocotools (`pycocotools.mask`) reads and writes.
///
/// The convention, fixed by pycocotools' `maskApi.c`:
/// - the pixels are visited **column by column** (Fortran order: down the first column, then the next),
///   which is why `pycocotools.mask.encode` wants a Fortran-ordered array;
/// - `counts` alternates runs of background and foreground and always **starts with background**, so
///   a mask whose first pixel is foreground starts with a run of length 0;
/// - the counts add up to `height × width`.
///
/// `compressedString` is pycocotools' compact text form (`rleToString`), `init(compressed:height:width:)`
/// parses it (`rleFrString`); `area` and `boundingBox` give what `pycocotools.mask.area` and `toBbox`
/// give. Masks handed in and out of this type are row-major (C order) `height × width` bytes, as
/// everywhere else in vlsam.
public struct RunLengthMask: Sendable, Hashable {
    public let height: Int
    public let width: Int
    /// Run lengths in column-major pixel order, background first.
    public let counts: [UInt32]

    /// Wraps existing counts (for example the uncompressed `counts` list of a COCO crowd annotation).
    /// Throws when the sizes are negative or the runs do not cover exactly `height × width` pixels.
    public init(height: Int, width: Int, counts: [UInt32]) throws {
        try Self.checkSize(height: height, width: width)
        let total = counts.reduce(0) { $0 + Int($1) }
        guard total == height * width else {
            throw RunLengthError.wrongPixelCount(found: total, height: height, width: width)
        }
        self.init(checkedHeight: height, width: width, counts: counts)
    }

    /// Wraps counts known to cover height × width pixels.
    init(checkedHeight height: Int, width: Int, counts: [UInt32]) {
        self.height = height
        self.width = width
        self.counts = counts
    }

    /// Encodes a row-major `height × width` mask; any non-zero byte is foreground.
    public init(mask: [UInt8], height: Int, width: Int) {
        self = mask.withUnsafeBufferPointer { Self(mask: $0, height: height, width: width) }
    }

    /// Encodes a row-major `height × width` mask held in a slice (e.g. one plane of `MasksArtifact.masks`).
    public init(mask: ArraySlice<UInt8>, height: Int, width: Int) {
        self = mask.withUnsafeBufferPointer { Self(mask: $0, height: height, width: width) }
    }

    /// Encodes a row-major `height × width` mask; any non-zero byte is foreground.
    public init(mask: UnsafeBufferPointer<UInt8>, height: Int, width: Int) {
        precondition(height >= 0 && width >= 0 && height * width <= Int(UInt32.max),
                     "mask size \(height)x\(width) is not encodable (negative, or more than 2^32 - 1 pixels)")
        precondition(mask.count == height * width, "\(mask.count) mask bytes for a \(height)x\(width) mask")
        self.init(checkedHeight: height, width: width, counts: Self.columnMajorRuns(mask, height: height, width: width))
    }

    /// Run lengths of a row-major mask read down its columns. The scan keeps the current column
    /// position and only records where the value changes, so no per-pixel work beyond one compare.
    private static func columnMajorRuns(_ mask: UnsafeBufferPointer<UInt8>, height: Int, width: Int) -> [UInt32] {
        var counts = [UInt32]()
        guard height > 0, width > 0, let pixels = mask.baseAddress else { return [0] }
        counts.reserveCapacity(64)
        var foreground = false
        // Column-major index at which the current run began.
        var runStart = 0
        for column in 0..<width {
            var pointer = pixels + column
            let columnStart = column * height
            for row in 0..<height {
                if (pointer.pointee != 0) != foreground {
                    let here = columnStart + row
                    counts.append(UInt32(truncatingIfNeeded: here - runStart))
                    runStart = here
                    foreground.toggle()
                }
                pointer += width
            }
        }
        counts.append(UInt32(truncatingIfNeeded: height * width - runStart))
        return counts
    }

    /// The mask as row-major `height × width` bytes, 1 foreground and 0 background.
    public func decode() -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: height * width)
        guard height > 0, width > 0 else { return pixels }
        pixels.withUnsafeMutableBufferPointer { output in
            let base = output.baseAddress!
            var position = 0
            for (index, count) in counts.enumerated() {
                let end = position + Int(count)
                if index & 1 == 1 {
                    // Fill the run column by column: rows [row, lastRow] of each column it touches.
                    var start = position
                    while start < end {
                        let column = start / height, row = start - column * height
                        let stop = min(end, (column + 1) * height)
                        var pointer = base + row * width + column
                        for _ in row ..< row + (stop - start) {
                            pointer.pointee = 1
                            pointer += width
                        }
                        start = stop
                    }
                }
                position = end
            }
        }
        return pixels
    }

    /// Number of foreground pixels (`pycocotools.mask.area`).
    public var area: Int {
        var total = 0
        for index in stride(from: 1, to: counts.count, by: 2) { total += Int(counts[index]) }
        return total
    }

    /// The box `pycocotools.mask.toBbox` reports: x, y of the top-left pixel and the width and height
    /// in pixels, all zero for an empty mask. Like pycocotools, a foreground run that continues from
    /// the bottom of one column into the next counts as spanning the full height.
    public var boundingBox: COCOBox {
        // Only whole (background, foreground) pairs matter: a trailing background run is ignored.
        let pairs = counts.count / 2
        guard pairs > 0, height > 0 else { return COCOBox(x: 0, y: 0, width: 0, height: 0) }
        // pycocotools computes in 32-bit unsigned integers; so does this, wrapping where it wraps.
        let h = UInt32(height)
        var minX = UInt32(width), minY = h, maxX: UInt32 = 0, maxY: UInt32 = 0
        var position: UInt32 = 0
        for pair in 0..<pairs {
            // First pixel of the foreground run, then its last pixel; empty runs mark nothing.
            position &+= counts[2 * pair]
            guard counts[2 * pair + 1] > 0 else { continue }
            let firstColumn = position / h, firstRow = position % h
            position &+= counts[2 * pair + 1]
            let last = position &- 1
            let lastColumn = last / h, lastRow = last % h
            if firstColumn < lastColumn {
                minY = 0
                maxY = h - 1
            }
            minX = min(minX, firstColumn, lastColumn)
            maxX = max(maxX, firstColumn, lastColumn)
            minY = min(minY, firstRow, lastRow)
            maxY = max(maxY, firstRow, lastRow)
        }
        // Unsigned like pycocotools: with only empty foreground runs the sizes wrap around as there.
        return COCOBox(x: Double(minX), y: Double(minY), width: Double(maxX &- minX &+ 1),
                       height: Double(maxY &- minY &+ 1))
    }

    static func checkSize(height: Int, width: Int) throws {
        let pixels = height.multipliedReportingOverflow(by: width)
        guard height >= 0, width >= 0, !pixels.overflow, pixels.partialValue <= Int(UInt32.max) else {
            throw RunLengthError.invalidSize(height: height, width: width)
        }
    }
}

/// A COCO box: top-left corner (x, y) and size, in pixels.
public struct COCOBox: Sendable, Hashable, CustomStringConvertible {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// [x, y, width, height], the order of COCO's `bbox` field.
    public var xywh: [Double] { [x, y, width, height] }

    public var description: String { "[\(x), \(y), \(width), \(height)]" }
}

/// What is wrong with run-length or polygon data handed to `RunLengthMask`.
public enum RunLengthError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A character outside pycocotools' alphabet ('0' … 'o', ASCII 48–111).
    case invalidCharacter(UInt8, offset: Int)
    /// The string ends inside a number (its last character has the continuation bit).
    case truncated(offset: Int)
    /// A number longer than any 32-bit run length needs.
    case numberTooLong(offset: Int)
    /// A run length that, once the delta is undone, is negative or does not fit 32 bits.
    case invalidRunLength(Int64, run: Int)
    case invalidSize(height: Int, width: Int)
    /// The runs cover `found` pixels instead of height × width.
    case wrongPixelCount(found: Int, height: Int, width: Int)
    /// A polygon coordinate that is not finite or too large to rasterise.
    case invalidPolygonCoordinate(Double)
    /// A polygon segmentation with no polygon.
    case noPolygons
    /// A polygon list whose first polygon has 4 or fewer coordinates (pycocotools reads it as boxes).
    case shortFirstPolygon(coordinates: Int)

    public var description: String {
        switch self {
        case let .invalidCharacter(byte, offset):
            let shown = (32..<127).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(byte)"
            return "COCO RLE string has \(shown) at offset \(offset); only '0' … 'o' (ASCII 48–111) occur"
        case let .truncated(offset):
            return "COCO RLE string ends inside a number (the number starting at offset \(offset) is unfinished)"
        case let .numberTooLong(offset):
            return "COCO RLE string has a number at offset \(offset) longer than 7 characters (more than 32 bits)"
        case let .invalidRunLength(value, run):
            return "COCO RLE run \(run) has length \(value), outside 0 … 2^32 - 1"
        case let .invalidSize(height, width):
            return "mask size \(height)x\(width) is invalid (negative, or more than 2^32 - 1 pixels)"
        case let .wrongPixelCount(found, height, width):
            return "COCO RLE runs cover \(found) pixels, but a \(height)x\(width) mask has \(height * width)"
        case let .invalidPolygonCoordinate(value):
            return "polygon coordinate \(value) is not finite or beyond ±\(RunLengthMask.largestPolygonCoordinate)"
        case .noPolygons:
            return "polygon segmentation has no polygon"
        case let .shortFirstPolygon(coordinates):
            return "the first polygon has \(coordinates) coordinates; pycocotools needs more than 4 (it takes such lists for boxes)"
        }
    }
}

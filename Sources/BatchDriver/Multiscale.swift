import Artifacts
import Checkpoints
import Foundation
import Geometry
import Imaging

/// An integer pixel rectangle of a photo: columns x0 ..< x0 + width, rows y0 ..< y0 + height.
public struct CropRectangle: Codable, Equatable, Sendable {
    public var x0: Int
    public var y0: Int
    public var width: Int
    public var height: Int

    public init(x0: Int, y0: Int, width: Int, height: Int) {
        self.x0 = x0
        self.y0 = y0
        self.width = width
        self.height = height
    }

    public var x1: Int { x0 + width }
    public var y1: Int { y0 + height }
}

/// The multi-scale ensemble of the method page (§10): "the image and its four half-size quadrant
/// crops with 10% overlap, each mask pasted back into full-image coordinates". Scale 0 is the
/// whole photo; scales 1…4 are its quadrants, each segmented by the whole method as if it were a
/// photo of its own.
///
/// The crops, for an H × W photo: scale 1 top-left, 2 top-right, 3 bottom-left, 4 bottom-right,
/// each `side(H)` rows by `side(W)` columns and anchored at its corner of the photo (x0 = 0 or
/// W − side(W), y0 = 0 or H − side(H)), where side(n) = ceil(0.55 · n), computed in integers.
/// "Half-size with 10% overlap" is read as: each crop is the half plus 5% of the photo's side past
/// the centre line, so two neighbouring crops share the band of 10% of the side centred on it
/// (rows or columns 45%…55%). That is also the half enlarged by 10% (0.5 · 1.1 = 0.55). The other
/// reading — an overlap of 10% of the crop, side = n / 1.9 ≈ 0.526 n — was not taken: the
/// overlap is there so that an object cut by the centre line is whole in some crop, and a band
/// proportional to the photo says that directly. Rounding up keeps every crop at least half the
/// photo, so the four always cover it (1800 × 1200: 990 × 660 crops, a 180- and a 120-pixel band;
/// a 5 × 7 photo: 3 × 4 crops sharing its middle column and row).
public enum Multiscale {
    /// The crops' scales, in order: top-left, top-right, bottom-left, bottom-right.
    public static let quadrants = 1...4

    /// ceil(0.55 · n) without floating point: the side of a crop of a photo side of n pixels.
    public static func side(_ n: Int) -> Int { (55 * n + 99) / 100 }

    /// The rectangle of crop `scale` (1…4) of an H × W photo.
    public static func crop(scale: Int, height: Int, width: Int) -> CropRectangle {
        precondition(quadrants.contains(scale), "Multiscale: scale \(scale) is not a quadrant (1…4)")
        let h = side(height), w = side(width)
        let right = scale == 2 || scale == 4, bottom = scale >= 3
        return CropRectangle(x0: right ? width - w : 0, y0: bottom ? height - h : 0, width: w, height: h)
    }

    /// The four crops of an H × W photo, scales 1…4 in order.
    public static func crops(height: Int, width: Int) -> [CropRectangle] {
        quadrants.map { crop(scale: $0, height: height, width: width) }
    }

    /// The pixels of `rectangle` of `image`.
    public static func cut(_ image: RGBImage, _ rectangle: CropRectangle) -> RGBImage {
        precondition(rectangle.x0 >= 0 && rectangle.y0 >= 0 && rectangle.x1 <= image.width && rectangle.y1 <= image.height,
                     "Multiscale: crop \(rectangle) is outside a \(image.width)x\(image.height) image")
        var pixels: [UInt8] = []
        pixels.reserveCapacity(rectangle.width * rectangle.height * 3)
        for y in rectangle.y0 ..< rectangle.y1 {
            let start = (y * image.width + rectangle.x0) * 3
            pixels.append(contentsOf: image.pixels[start ..< start + rectangle.width * 3])
        }
        return RGBImage(width: rectangle.width, height: rectangle.height, pixels: pixels)
    }

    /// A row-major crop-sized array put at the crop's place in a photo-sized one filled with `zero`.
    public static func paste<T>(_ values: [T], from rectangle: CropRectangle, height: Int, width: Int, zero: T) -> [T] {
        precondition(values.count == rectangle.width * rectangle.height, "Multiscale: \(values.count) values for crop \(rectangle)")
        var result = [T](repeating: zero, count: height * width)
        for row in 0 ..< rectangle.height {
            let target = (rectangle.y0 + row) * width + rectangle.x0
            result.replaceSubrange(target ..< target + rectangle.width,
                                   with: values[row * rectangle.width ..< (row + 1) * rectangle.width])
        }
        return result
    }

    /// A crop's point in the photo's coordinates.
    public static func shift(_ point: PixelPoint, by rectangle: CropRectangle) -> PixelPoint {
        PixelPoint(x: point.x + Float(rectangle.x0), y: point.y + Float(rectangle.y0))
    }
}

/// What the crop step records beside its PNG (`crop.s<s>.json`), written after the PNG: a PNG is
/// reused only when this record exists, names the PNG's exact bytes (SHA-256) and was made by this
/// vlsam version from this photo with this rectangle — the checks `Expectation.decide` makes of
/// the HDF5 artifacts (which record all this inside themselves; a PNG cannot, here).
struct CropRecord: Codable {
    var producer = "vlsam-run"
    var producerVersion = vlsamVersion
    var createdUTC = Provenance.now()
    var sourceImage: String
    var sourceImageSHA256: String
    /// The rectangle as the text of one JSON object (`Provenance.json`), like every stage's parameters.
    var parameters: String
    var cropSHA256: String

    enum CodingKeys: String, CodingKey {
        case producer, parameters
        case producerVersion = "producer_version", createdUTC = "created_utc", sourceImage = "source_image"
        case sourceImageSHA256 = "source_image_sha256", cropSHA256 = "crop_sha256"
    }

    static func parameters(_ rectangle: CropRectangle) throws -> String { try Provenance.json(rectangle) }

    /// Cuts `rectangle` out of `photo`, writes it as a PNG (atomically), then the record (atomically).
    static func make(photo: RGBImage, photoPath: String, rectangle: CropRectangle, png: String, record: String) throws {
        try writePNG(Multiscale.cut(photo, rectangle), to: png)
        let made = CropRecord(sourceImage: photoPath, sourceImageSHA256: try sha256Hex(ofFile: photoPath),
                              parameters: try parameters(rectangle), cropSHA256: try sha256Hex(ofFile: png))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try (encoder.encode(made) + Data("\n".utf8)).withUnsafeBytes { try writeFileAtomically($0, toPath: record) }
    }

    /// Reuse the PNG only when its record says it was cut with these parameters from the photo
    /// whose SHA-256 is `photoSHA256`, by this vlsam version.
    static func decide(parameters: String, photoSHA256: String?, png: String, record: String) -> Decision {
        guard FileManager.default.fileExists(atPath: png) else { return .run(reason: "missing") }
        guard FileManager.default.fileExists(atPath: record) else { return .run(reason: "missing (its record)") }
        let recorded: CropRecord
        do {
            recorded = try JSONDecoder().decode(CropRecord.self, from: Data(contentsOf: URL(fileURLWithPath: record)))
        } catch {
            return .run(reason: "unreadable record (\(String(describing: error).split(separator: "\n").joined(separator: " ")))")
        }
        guard (try? sha256Hex(ofFile: png)) == recorded.cropSHA256 else { return .run(reason: "not the PNG its record describes") }
        if recorded.producerVersion != vlsamVersion {
            return .run(reason: "made by vlsam \(recorded.producerVersion), this is \(vlsamVersion)")
        }
        if recorded.parameters != parameters {
            return .run(reason: "parameter \(Expectation.changedKeys(recorded.parameters, parameters).joined(separator: ", ")) changed")
        }
        if recorded.sourceImageSHA256 != photoSHA256 { return .run(reason: "input changed (photo)") }
        return .reuse
    }
}

import Foundation

/// A COCO category, as listed under `categories` in a COCO annotations file.
public struct COCOCategory: Sendable, Hashable {
    public var id: Int
    public var name: String
    public var supercategory: String

    public init(id: Int, name: String, supercategory: String = "") {
        self.id = id
        self.name = name
        self.supercategory = supercategory
    }

    /// The categories of a COCO annotations file (an object with a `categories` list, like
    /// instances_val2017.json) or of a bare JSON list of categories.
    public static func parse(json data: Data) throws -> [COCOCategory] {
        let document: Any
        do {
            document = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw COCOFormatError.invalidCategories(path: nil, "not JSON (\(error.localizedDescription))")
        }
        let list: Any?
        if let object = document as? [String: Any] { list = object["categories"] } else { list = document }
        guard let entries = list as? [Any] else {
            throw COCOFormatError.invalidCategories(path: nil, "expected a list of categories or an object with a \"categories\" list")
        }
        return try entries.enumerated().map { index, entry in
            guard let object = entry as? [String: Any], let id = object["id"] as? Int, let name = object["name"] as? String else {
                throw COCOFormatError.invalidCategories(path: nil, "category \(index) has no integer \"id\" and string \"name\"")
            }
            return COCOCategory(id: id, name: name, supercategory: object["supercategory"] as? String ?? "")
        }
    }

    /// `parse(json:)` on a file; errors name the file.
    public static func load(from path: String) throws -> [COCOCategory] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw COCOFormatError.unreadable(path: path, error.localizedDescription)
        }
        do {
            return try parse(json: data)
        } catch let COCOFormatError.invalidCategories(_, problem) {
            throw COCOFormatError.invalidCategories(path: path, problem)
        }
    }
}

/// The `category_id` of a result: COCO's integer id when the object's name is one of the known
/// categories, otherwise the name itself (open vocabulary; pycocotools' `loadRes` keeps it, but
/// COCOeval only matches integer ids).
public enum COCOCategoryID: Sendable, Hashable {
    case id(Int)
    case name(String)
}

/// Maps object names to COCO categories. Names match when equal after lowercasing, trimming and
/// collapsing inner whitespace ("Traffic  light " is "traffic light"); nothing else (no plurals,
/// no synonyms). When two categories share a normalised name, the one listed first wins.
public struct COCOCategoryMap: Sendable {
    public let categories: [COCOCategory]
    private let idsByName: [String: Int]

    public init(_ categories: [COCOCategory]) {
        self.categories = categories
        var ids = [String: Int]()
        for category in categories where ids[Self.normalised(category.name)] == nil {
            ids[Self.normalised(category.name)] = category.id
        }
        idsByName = ids
    }

    public func categoryID(for name: String) -> COCOCategoryID {
        idsByName[Self.normalised(name)].map(COCOCategoryID.id) ?? .name(name)
    }

    static func normalised(_ name: String) -> String {
        name.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}

/// One entry of a COCO results file: an instance mask with its box and score.
public struct COCODetection: Sendable, Hashable {
    public var imageID: Int
    public var category: COCOCategoryID
    /// The mask size [height, width] (`segmentation.size`).
    public var height: Int
    public var width: Int
    /// pycocotools' compressed RLE string (`segmentation.counts`).
    public var counts: String
    /// COCO `bbox` [x, y, width, height].
    public var box: COCOBox
    public var score: Double

    public init(imageID: Int, category: COCOCategoryID, height: Int, width: Int, counts: String, box: COCOBox, score: Double) {
        self.imageID = imageID
        self.category = category
        self.height = height
        self.width = width
        self.counts = counts
        self.box = box
        self.score = score
    }

    /// From a mask; the box defaults to the mask's `boundingBox`, as `loadRes` would compute it.
    public init(imageID: Int, category: COCOCategoryID, mask: RunLengthMask, box: COCOBox? = nil, score: Double) {
        self.init(imageID: imageID, category: category, height: mask.height, width: mask.width,
                  counts: mask.compressedString, box: box ?? mask.boundingBox, score: score)
    }

    /// A float32 score (as stored in vlsam artifacts) written with its own shortest digits: 0.9, not 0.8999999761581421.
    public init(imageID: Int, category: COCOCategoryID, mask: RunLengthMask, box: COCOBox? = nil, score: Float) {
        self.init(imageID: imageID, category: category, mask: mask, box: box, score: COCOResults.shortestDouble(score))
    }
}

/// An entry of a COCO `images` list.
public struct COCOImage: Sendable, Hashable {
    public var id: Int
    public var fileName: String
    public var height: Int
    public var width: Int

    public init(id: Int, fileName: String, height: Int, width: Int) {
        self.id = id
        self.fileName = fileName
        self.height = height
        self.width = width
    }
}

/// Writers of COCO's JSON files. The text is byte-stable: a fixed key order, one entry per line,
/// no spaces, numbers in their shortest round-trip form (Swift's `description`: `3.0`, `0.25`,
/// `1e-05`), strings escaped only where JSON requires it (`"`, `\` and control characters; other
/// characters stay UTF-8).
public enum COCOResults {
    /// The results file pycocotools' `COCO.loadRes` reads: a JSON array of
    /// `{"image_id", "category_id", "segmentation": {"size": [h, w], "counts"}, "bbox": [x, y, w, h], "score"}`.
    /// Throws for a non-finite score or box, or counts that are not a valid RLE string of the size.
    public static func json(_ detections: [COCODetection]) throws -> String {
        var lines = [String]()
        lines.reserveCapacity(detections.count)
        for (index, detection) in detections.enumerated() {
            try check(detection, index)
            let category: String
            switch detection.category {
            case let .id(id): category = String(id)
            case let .name(name): category = quoted(name)
            }
            lines.append(#"{"image_id":\#(detection.imageID),"category_id":\#(category),"# +
                         #""segmentation":{"size":[\#(detection.height),\#(detection.width)],"counts":\#(quoted(detection.counts))},"# +
                         #""bbox":[\#(detection.box.xywh.map(number).joined(separator: ","))],"score":\#(number(detection.score))}"#)
        }
        return array(lines)
    }

    /// A JSON array of `{"id", "file_name", "height", "width"}`: the `images` list of a COCO file.
    public static func imagesJSON(_ images: [COCOImage]) throws -> String {
        array(try images.map { image in
            guard image.height > 0, image.width > 0 else { throw COCOFormatError.invalidImage(id: image.id, "size \(image.height)x\(image.width) is empty") }
            return #"{"id":\#(image.id),"file_name":\#(quoted(image.fileName)),"height":\#(image.height),"width":\#(image.width)}"#
        })
    }

    /// Writes `json(detections)` to `path`, replacing it atomically.
    public static func write(_ detections: [COCODetection], to path: String) throws {
        try write(text: json(detections), to: path)
    }

    /// Writes `imagesJSON(images)` to `path`, replacing it atomically.
    public static func writeImages(_ images: [COCOImage], to path: String) throws {
        try write(text: imagesJSON(images), to: path)
    }

    /// The Double whose shortest digits are the Float's shortest digits.
    static func shortestDouble(_ value: Float) -> Double {
        value.isFinite ? Double(value.description) ?? Double(value) : Double(value)
    }

    private static func check(_ detection: COCODetection, _ index: Int) throws {
        guard detection.score.isFinite else { throw COCOFormatError.invalidDetection(index: index, "score \(detection.score) is not finite") }
        guard detection.box.xywh.allSatisfy(\.isFinite) else {
            throw COCOFormatError.invalidDetection(index: index, "bbox \(detection.box) is not finite")
        }
        do {
            _ = try RunLengthMask(compressed: detection.counts, height: detection.height, width: detection.width)
        } catch let error as RunLengthError {
            throw COCOFormatError.invalidDetection(index: index, "segmentation: \(error)")
        }
    }

    private static func write(text: String, to path: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw COCOFormatError.writeFailed(path: path, error.localizedDescription)
        }
    }

    private static func array(_ lines: [String]) -> String {
        lines.isEmpty ? "[]\n" : "[\n" + lines.joined(separator: ",\n") + "\n]\n"
    }

    /// Shortest round-trip digits; integral values keep ".0" (as Python's json writes floats).
    static func number(_ value: Double) -> String { value.description }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

/// Failures of the COCO writers and readers, one line each.
public enum COCOFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidDetection(index: Int, String)
    case invalidImage(id: Int, String)
    /// `path` is nil for categories parsed from memory.
    case invalidCategories(path: String?, String)
    case unreadable(path: String, String)
    case writeFailed(path: String, String)

    public var description: String {
        switch self {
        case let .invalidDetection(index, problem): return "detection \(index): \(problem)"
        case let .invalidImage(id, problem): return "image \(id): \(problem)"
        case let .invalidCategories(path, problem): return (path.map { "\($0): " } ?? "") + "COCO categories: \(problem)"
        case let .unreadable(path, problem): return "\(path): cannot read (\(problem))"
        case let .writeFailed(path, problem): return "\(path): cannot write (\(problem))"
        }
    }
}

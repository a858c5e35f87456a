import COCOFormat

/// A COCO results file read as pycocotools' `COCO.loadRes` reads it. The detections keep the
/// file's order; detection i has id i + 1.
///
/// loadRes decides by the FIRST result: when it has a non-empty `bbox`, every result's area is
/// its box's width × height (even for segm evaluation); otherwise every result needs a
/// segmentation, its area is the mask's area and a missing box is the mask's `toBbox`.
/// Segmentations are made masks as `annToRLE` makes them, in the image's size.
///
/// Refused, each with an error naming the source: a result for an image or a category the
/// ground truth does not have (pycocotools refuses unknown images and silently drops unknown
/// categories), a result without score, and for segm evaluation a result without segmentation
/// (pycocotools would rasterise its box).
public struct DetectionResults: Sendable {
    public struct Detection: Sendable, Hashable {
        public var imageID: Int
        public var categoryID: Int
        public var score: Double
        public var box: COCOBox
        /// What the area ranges test: loadRes's area (see above).
        public var area: Double
        /// The mask (present for segm evaluation).
        public var mask: RunLengthMask?
    }

    public var detections: [Detection]
    public var source: String
    /// SHA-256 of the file, when read from one.
    public var sha256: String?

    /// One result before loadRes's rules are applied.
    struct Entry {
        var imageID: Int?
        var categoryID: Int?
        /// A category given as text (vlsam writes open-vocabulary names so): never a COCO category.
        var categoryName: String?
        var score: Double?
        var box: COCOBox?
        var segmentation: COCOSegmentation?
    }

    /// Reads a COCO results file (a JSON array of detections).
    public static func load(path: String, groundTruth: GroundTruth, iouType: IoUType) throws -> DetectionResults {
        let text = try JSONText(contentsOf: path)
        var entries = [Entry]()
        try text.read { reader in
            guard try reader.peekKind() == .array else { throw reader.error("expected a JSON array of detections") }
            try reader.readArray { reader in entries.append(try readEntry(&reader)) }
            try reader.expectEnd()
        }
        return try DetectionResults(entries: entries, groundTruth: groundTruth, iouType: iouType, source: path, sha256: text.sha256)
    }

    /// Detections made in this process (for example by vlsam-run), as if written to a results
    /// file and read back; `source` names them in errors.
    public init(_ detections: [COCODetection], groundTruth: GroundTruth, iouType: IoUType, source: String) throws {
        let entries = try detections.enumerated().map { index, detection -> Entry in
            var entry = Entry(imageID: detection.imageID, score: detection.score, box: detection.box)
            switch detection.category {
            case let .id(id): entry.categoryID = id
            case let .name(name): entry.categoryName = name
            }
            do {
                entry.segmentation = .runLengths(try RunLengthMask(compressed: detection.counts, height: detection.height, width: detection.width))
            } catch let problem as RunLengthError {
                throw EvaluationError(source, "result \(index): segmentation: \(problem)")
            }
            return entry
        }
        try self.init(entries: entries, groundTruth: groundTruth, iouType: iouType, source: source, sha256: nil)
    }

    init(entries: [Entry], groundTruth: GroundTruth, iouType: IoUType, source: String, sha256: String?) throws {
        self.source = source
        self.sha256 = sha256
        let images = Dictionary(groundTruth.images.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let categories = Set(groundTruth.categories.map(\.id))
        let boxesGiven = entries.first?.box != nil
        detections = try entries.enumerated().map { index, entry in
            func failure(_ problem: String) -> EvaluationError { EvaluationError(source, "result \(index): \(problem)") }
            guard let imageID = entry.imageID else { throw failure("no integer image_id") }
            guard let image = images[imageID] else { throw failure("image_id \(imageID) is not an image of \(groundTruth.source)") }
            if let name = entry.categoryName { throw failure("category_id \"\(name)\" is not a category of \(groundTruth.source)") }
            guard let categoryID = entry.categoryID else { throw failure("no category_id") }
            guard categories.contains(categoryID) else { throw failure("category_id \(categoryID) is not a category of \(groundTruth.source)") }
            guard let score = entry.score else { throw failure("no score") }
            guard score.isFinite else { throw failure("score \(score) is not finite") }
            var mask: RunLengthMask? = nil
            if let segmentation = entry.segmentation, iouType == .segm || !boxesGiven {
                do {
                    mask = try segmentation.mask(imageHeight: image.height, imageWidth: image.width)
                } catch let problem as RunLengthError {
                    throw failure("segmentation: \(problem)")
                }
            }
            if iouType == .segm, mask == nil { throw failure("no segmentation (segm evaluation compares masks)") }
            if boxesGiven {
                guard let box = entry.box else { throw failure("no bbox (the first result has one, so every result needs one)") }
                return Detection(imageID: imageID, categoryID: categoryID, score: score, box: box, area: box.width * box.height, mask: mask)
            }
            guard let mask else { throw failure("neither bbox nor segmentation") }
            return Detection(imageID: imageID, categoryID: categoryID, score: score, box: entry.box ?? mask.boundingBox,
                             area: Double(mask.area), mask: mask)
        }
    }

    private static func readEntry(_ reader: inout JSONReader) throws -> Entry {
        var entry = Entry()
        try reader.readObject { key, reader in
            switch key {
            case "image_id": entry.imageID = try reader.readInt()
            case "category_id":
                if try reader.peekKind() == .string { entry.categoryName = try reader.readString() } else { entry.categoryID = try reader.readInt() }
            case "score": entry.score = try reader.readDouble()
            case "bbox": entry.box = try reader.readBox()
            case "segmentation": entry.segmentation = try reader.readSegmentation()
            default: try reader.skipValue()
            }
        }
        return entry
    }
}

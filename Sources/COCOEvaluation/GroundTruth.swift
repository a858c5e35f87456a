import COCOFormat

/// A COCO instances file as COCOeval uses it: images, categories and annotations.
public struct GroundTruth: Sendable {
    public struct Image: Sendable, Hashable {
        public var id: Int
        public var height: Int
        public var width: Int

        public init(id: Int, height: Int, width: Int) {
            self.id = id
            self.height = height
            self.width = width
        }
    }

    public struct Annotation: Sendable, Hashable {
        public var id: Int
        public var imageID: Int
        public var categoryID: Int
        /// The file's `area`: it decides the area ranges (COCOeval never recomputes it).
        public var area: Double
        /// `iscrowd` non-zero. COCOeval ignores crowd regions (it overwrites any `ignore` field with this).
        public var isCrowd: Bool
        /// Needed for bbox evaluation.
        public var box: COCOBox?
        /// Needed for segm evaluation.
        public var segmentation: COCOSegmentation?

        public init(id: Int, imageID: Int, categoryID: Int, area: Double, isCrowd: Bool, box: COCOBox?, segmentation: COCOSegmentation?) {
            self.id = id
            self.imageID = imageID
            self.categoryID = categoryID
            self.area = area
            self.isCrowd = isCrowd
            self.box = box
            self.segmentation = segmentation
        }
    }

    public var images: [Image]
    public var categories: [COCOCategory]
    public var annotations: [Annotation]
    /// Where it came from (a file path), for error messages.
    public var source: String
    /// SHA-256 of the file, when read from one.
    public var sha256: String?

    /// Checks that image, category and annotation ids are unique and image sizes positive
    /// (pycocotools would silently keep the last of duplicates).
    public init(images: [Image], categories: [COCOCategory], annotations: [Annotation], source: String, sha256: String? = nil) throws {
        self.images = images
        self.categories = categories
        self.annotations = annotations
        self.source = source
        self.sha256 = sha256
        try Self.requireUnique(images.map(\.id), "image", source)
        try Self.requireUnique(categories.map(\.id), "category", source)
        try Self.requireUnique(annotations.map(\.id), "annotation", source)
        if let image = images.first(where: { $0.height < 1 || $0.width < 1 }) {
            throw EvaluationError(source, "image \(image.id) has size \(image.height)x\(image.width)")
        }
    }

    /// Reads a COCO instances JSON file.
    public static func load(path: String) throws -> GroundTruth {
        let text = try JSONText(contentsOf: path)
        return try parse(text)
    }

    /// Parses instances JSON held in memory; `source` names it in errors.
    public static func parse(json bytes: [UInt8], source: String) throws -> GroundTruth {
        try parse(JSONText(bytes, path: source))
    }

    private static func parse(_ text: JSONText) throws -> GroundTruth {
        var images = [Image](), categories = [COCOCategory](), annotations = [Annotation]()
        try text.read { reader in
            guard try reader.peekKind() == .object else { throw reader.error("expected an object with images, annotations and categories") }
            try reader.readObject { key, reader in
                switch key {
                case "images": try reader.readArray { reader in images.append(try readImage(&reader)) }
                case "categories": try reader.readArray { reader in categories.append(try readCategory(&reader)) }
                case "annotations": try reader.readArray { reader in annotations.append(try readAnnotation(&reader)) }
                default: try reader.skipValue()
                }
            }
            try reader.expectEnd()
        }
        return try GroundTruth(images: images, categories: categories, annotations: annotations, source: text.path, sha256: text.sha256)
    }

    private static func readImage(_ reader: inout JSONReader) throws -> Image {
        var id: Int?, height: Int?, width: Int?
        try reader.readObject { key, reader in
            switch key {
            case "id": id = try reader.readInt()
            case "height": height = try reader.readInt()
            case "width": width = try reader.readInt()
            default: try reader.skipValue()
            }
        }
        guard let id, let height, let width else { throw reader.error("an image lacks an integer id, height or width") }
        return Image(id: id, height: height, width: width)
    }

    private static func readCategory(_ reader: inout JSONReader) throws -> COCOCategory {
        var id: Int?, name: String?, supercategory = ""
        try reader.readObject { key, reader in
            switch key {
            case "id": id = try reader.readInt()
            case "name": name = try reader.readString()
            case "supercategory": supercategory = try reader.readString()
            default: try reader.skipValue()
            }
        }
        guard let id, let name else { throw reader.error("a category lacks an integer id or a name") }
        return COCOCategory(id: id, name: name, supercategory: supercategory)
    }

    private static func readAnnotation(_ reader: inout JSONReader) throws -> Annotation {
        var id: Int?, imageID: Int?, categoryID: Int?, area: Double?
        var isCrowd = false
        var box: COCOBox? = nil
        var segmentation: COCOSegmentation? = nil
        try reader.readObject { key, reader in
            switch key {
            case "id": id = try reader.readInt()
            case "image_id": imageID = try reader.readInt()
            case "category_id": categoryID = try reader.readInt()
            case "area": area = try reader.readDouble()
            case "iscrowd":
                isCrowd = try reader.peekKind() == .literal ? try reader.readLiteral() == true : try reader.readInt() != 0
            case "bbox": box = try reader.readBox()
            case "segmentation": segmentation = try reader.readSegmentation()
            default: try reader.skipValue()
            }
        }
        guard let id, let imageID, let categoryID else {
            throw reader.error("an annotation lacks an integer id, image_id or category_id")
        }
        guard let area else { throw reader.error("annotation \(id) has no area") }
        return Annotation(id: id, imageID: imageID, categoryID: categoryID, area: area, isCrowd: isCrowd, box: box,
                          segmentation: segmentation)
    }

    private static func requireUnique(_ ids: [Int], _ kind: String, _ source: String) throws {
        var seen = Set<Int>()
        seen.reserveCapacity(ids.count)
        for id in ids where !seen.insert(id).inserted {
            throw EvaluationError(source, "\(kind) id \(id) occurs twice")
        }
    }
}

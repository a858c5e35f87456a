import Geometry
import TensorMath

/// What the VLM named in one image, and where every token of the conversation sits, so later
/// stages can read attention between object-name tokens and image tokens. Schema "vlsam.objects".
public struct ObjectsArtifact: Sendable, Equatable {
    public static let schema = ArtifactSchema.objects
    public static let modes = ["generated", "teacher_forced"]

    /// One named object: its normalised name and the token spans (absolute sequence positions,
    /// end exclusive) where it was written; duplicates merged, so possibly several spans.
    public struct Object: Sendable, Equatable {
        public var name: String
        public var spans: [Range<Int>]
        public init(name: String, spans: [Range<Int>]) {
            self.name = name
            self.spans = spans
        }
    }

    /// One image tile as the model saw it: a row/column crop or the global (whole-image) view.
    public struct Tile: Sendable, Equatable {
        /// 0-based crop row and column; nil for the global image.
        public var row: Int?
        public var col: Int?
        /// The tile's extent in original-image pixels (x0, y0, x1, y1).
        public var rect: [Double]
        public init(row: Int?, col: Int?, rect: [Double]) {
            self.row = row
            self.col = col
            self.rect = rect
        }
    }

    public var provenance: Provenance
    public var originalSize: ImageSize
    /// "generated" (greedy answer) or "teacher_forced" (names given with --objects).
    public var mode: String
    public var imageSplitting: Bool
    /// The chat-template output before the image tokens are expanded.
    public var promptText: String
    public var inputIDs: [Int]
    /// Image tokens: sequence position, tile index and (row, col) cell of the tile's token grid.
    public var imageTokenPositions: [Int]
    public var imageTokenTile: [Int]
    public var imageTokenCell: [(row: Int, col: Int)]
    /// Side of each tile's token grid (8 for SmolVLM: 64 tokens per tile).
    public var gridSide: Int
    public var tiles: [Tile]
    public var generatedIDs: [Int]
    public var generatedText: String
    public var objects: [Object]
    /// Optional: the connector output the image tokens were embedded with, [N, text hidden], row k
    /// for image token k (`imageTokenPositions` order), so the attention stage need not run the
    /// vision tower again. nil in files written before it was stored.
    public var imageFeatures: Tensor?

    public init(provenance: Provenance, originalSize: ImageSize, mode: String, imageSplitting: Bool, promptText: String,
                inputIDs: [Int], imageTokenPositions: [Int], imageTokenTile: [Int], imageTokenCell: [(row: Int, col: Int)],
                gridSide: Int, tiles: [Tile], generatedIDs: [Int], generatedText: String, objects: [Object],
                imageFeatures: Tensor? = nil) {
        self.provenance = provenance
        self.originalSize = originalSize
        self.mode = mode
        self.imageSplitting = imageSplitting
        self.promptText = promptText
        self.inputIDs = inputIDs
        self.imageTokenPositions = imageTokenPositions
        self.imageTokenTile = imageTokenTile
        self.imageTokenCell = imageTokenCell
        self.gridSide = gridSide
        self.tiles = tiles
        self.generatedIDs = generatedIDs
        self.generatedText = generatedText
        self.objects = objects
        self.imageFeatures = imageFeatures
    }

    public static func == (a: ObjectsArtifact, b: ObjectsArtifact) -> Bool {
        a.provenance == b.provenance && a.originalSize == b.originalSize && a.mode == b.mode
            && a.imageSplitting == b.imageSplitting && a.promptText == b.promptText && a.inputIDs == b.inputIDs
            && a.imageTokenPositions == b.imageTokenPositions && a.imageTokenTile == b.imageTokenTile
            && a.imageTokenCell.map { [$0.row, $0.col] } == b.imageTokenCell.map { [$0.row, $0.col] }
            && a.gridSide == b.gridSide && a.tiles == b.tiles && a.generatedIDs == b.generatedIDs
            && a.generatedText == b.generatedText && a.objects == b.objects && a.imageFeatures == b.imageFeatures
    }

    /// Writes atomically: `path` appears complete or not at all.
    public func write(to path: String) throws {
        try validate(path)
        let file = try HDF5File(creatingAt: path)
        try provenance.write(to: file, schema: Self.schema)
        try file.setSize("original_size", originalSize)
        try file.setAttribute("mode", mode)
        try file.setAttribute("image_splitting", imageSplitting ? 1 : 0)
        try file.setAttribute("grid_side", gridSide)
        try file.setAttribute("prompt_length", inputIDs.count)

        try file.write([promptText], to: "prompt_text")
        try file.describe("prompt_text", "chat-template output before the <image> expansion")
        try file.write(inputIDs.map(Int64.init), shape: [inputIDs.count], to: "input_ids")
        try file.describe("input_ids", "prompt token ids (image tokens expanded); position = index")
        let n = imageTokenPositions.count
        try file.write(imageTokenPositions.map(Int64.init), shape: [n], to: "image_token_positions")
        try file.describe("image_token_positions", "sequence position of each <image> token, in tile order")
        try file.write(imageTokenTile.map(Int32.init), shape: [n], to: "image_token_tile")
        try file.describe("image_token_tile", "tile index (row of `tiles`) of each image token")
        try file.write(imageTokenCell.flatMap { [Int32($0.row), Int32($0.col)] }, shape: [n, 2], to: "image_token_cell")
        try file.describe("image_token_cell", "(row, col) of each image token in its tile's grid_side x grid_side token grid")
        try file.write(tiles.flatMap(\.rect), shape: [tiles.count, 4], to: "tile_rects")
        try file.describe("tile_rects", "extent (x0, y0, x1, y1) of each tile in original-image pixels")
        try file.write(tiles.flatMap { [Int32($0.row ?? -1), Int32($0.col ?? -1)] }, shape: [tiles.count, 2], to: "tile_grid")
        try file.describe("tile_grid", "0-based (row, col) of each crop; (-1, -1) for the global image")
        try file.write(generatedIDs.map(Int64.init), shape: [generatedIDs.count], to: "generated_ids")
        try file.describe("generated_ids", "answer token ids; answer token i is at sequence position prompt_length + i")
        try file.write([generatedText], to: "generated_text")
        try file.describe("generated_text", "decoded answer (special tokens removed)")
        try file.write(objects.map(\.name), to: "object_names")
        try file.describe("object_names", "normalised object names (lower case, no article, duplicates merged)")
        var offsets: [Int32] = [0], spans: [Int64] = []
        for object in objects {
            spans += object.spans.flatMap { [Int64($0.lowerBound), Int64($0.upperBound)] }
            offsets.append(Int32(spans.count / 2))
        }
        try file.write(offsets, shape: [objects.count + 1], to: "object_span_offsets")
        try file.describe("object_span_offsets", "spans of object k are rows object_span_offsets[k] ..< object_span_offsets[k+1]")
        try file.write(spans, shape: [spans.count / 2, 2], to: "object_spans")
        try file.describe("object_spans", "token span [start, end) of each mention, as absolute sequence positions")
        if let imageFeatures {
            try file.write(imageFeatures, to: "image_features")
            try file.describe("image_features", "connector output embedded at each image token (row k: image token k), " +
                              "[N, text hidden]; the attention stage uses it instead of re-running the vision tower")
        }
        try file.commit()
    }

    public static func read(from path: String) throws -> ObjectsArtifact {
        let file = try HDF5File(readingAt: path)
        try requireSchema(file, schema)
        let provenance = try Provenance.read(from: file)
        let originalSize = try file.requiredSize("original_size")
        let mode = try file.requiredChoice("mode", among: modes)
        let splitting = try file.requiredInt("image_splitting") != 0
        let gridSide = try file.requiredInt("grid_side")
        try file.requireShape("prompt_text", [("", 1)], holding: .strings)
        try file.requireShape("generated_text", [("", 1)], holding: .strings)
        try file.requireShape("input_ids", [("S", nil)], holding: .integers)
        try file.requireShape("generated_ids", [("G", nil)], holding: .integers)
        let n = try file.requireShape("image_token_positions", [("N", nil)], holding: .integers)[0]
        try file.requireShape("image_token_tile", [("N", n)], holding: .integers)
        try file.requireShape("image_token_cell", [("N", n), ("", 2)], holding: .integers)
        let tileCount = try file.requireShape("tile_rects", [("T", nil), ("", 4)], holding: .floats)[0]
        try file.requireShape("tile_grid", [("T", tileCount), ("", 2)], holding: .integers)
        let objectCount = try file.requireShape("object_span_offsets", [("K+1", nil)], holding: .integers)[0] - 1
        try file.requireShape("object_names", [("K", objectCount)], holding: .strings)
        try file.requireShape("object_spans", [("P", nil), ("", 2)], holding: .integers)

        let cells = try file.readInt32("image_token_cell").values.map(Int.init)
        let rects = try file.readDouble("tile_rects").values
        if let index = rects.firstIndex(where: { !$0.isFinite }) {
            throw file.invalid("dataset \"tile_rects\" holds \(rects[index]) in row \(index / 4); its values must be finite")
        }
        let grid = try file.readInt32("tile_grid").values.map(Int.init)
        let names = try file.readStrings("object_names")
        let offsets = try file.readInt32("object_span_offsets").values.map(Int.init)
        let spans = try file.readInt64("object_spans").values.map(Int.init)
        guard offsets.first == 0, offsets.last == spans.count / 2, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw file.invalid("object_span_offsets must rise from 0 to the span count \(spans.count / 2)")
        }
        let objects = try (0..<objectCount).map { k -> Object in
            let ranges = try (offsets[k]..<offsets[k + 1]).map { i -> Range<Int> in
                guard spans[2 * i] <= spans[2 * i + 1] else { throw file.invalid("object_spans row \(i) is reversed") }
                return spans[2 * i] ..< spans[2 * i + 1]
            }
            return Object(name: names[k], spans: ranges)
        }
        let tileIndices = try file.readInt32("image_token_tile").values.map(Int.init)
        guard tileIndices.allSatisfy({ $0 >= 0 && $0 < tileCount }) else { throw file.invalid("image_token_tile out of range") }
        var imageFeatures: Tensor?
        if file.exists("image_features") {
            let width = try file.requireShape("image_features", [("N", n), ("hidden", nil)], holding: .floats)[1]
            guard width > 0 else { throw file.invalid("image_features has no columns") }
            let features = try file.readTensor("image_features")
            if let problem = Self.nonFiniteFeature(features) { throw file.invalid(problem) }
            imageFeatures = features
        }
        return ObjectsArtifact(
            provenance: provenance, originalSize: originalSize, mode: mode, imageSplitting: splitting,
            promptText: try file.readStrings("prompt_text").first ?? "",
            inputIDs: try file.readInt64("input_ids").values.map(Int.init),
            imageTokenPositions: try file.readInt64("image_token_positions").values.map(Int.init),
            imageTokenTile: tileIndices,
            imageTokenCell: (0..<n).map { (cells[2 * $0], cells[2 * $0 + 1]) },
            gridSide: gridSide,
            tiles: (0..<tileCount).map { t in
                Tile(row: grid[2 * t] < 0 ? nil : grid[2 * t], col: grid[2 * t + 1] < 0 ? nil : grid[2 * t + 1],
                     rect: Array(rects[4 * t ..< 4 * t + 4]))
            },
            generatedIDs: try file.readInt64("generated_ids").values.map(Int.init),
            generatedText: try file.readStrings("generated_text").first ?? "",
            objects: objects, imageFeatures: imageFeatures)
    }

    private static func nonFiniteFeature(_ features: Tensor) -> String? {
        HDF5File.nonFiniteProblem(features.data, shape: features.shape, dataset: "image_features")
    }

    private func validate(_ path: String) throws {
        guard Self.modes.contains(mode) else { throw invalidArtifact(path, "mode \"\(mode)\" is not one of \(Self.modes)") }
        guard imageTokenTile.count == imageTokenPositions.count, imageTokenCell.count == imageTokenPositions.count else {
            throw invalidArtifact(path, "image token tables disagree in length")
        }
        guard tiles.allSatisfy({ $0.rect.count == 4 }) else { throw invalidArtifact(path, "a tile rectangle is not 4 numbers") }
        if let imageFeatures {
            guard imageFeatures.shape.count == 2, imageFeatures.shape[0] == imageTokenPositions.count, imageFeatures.shape[1] > 0 else {
                throw invalidArtifact(path, "image_features has shape \(imageFeatures.shape), expected [N=\(imageTokenPositions.count), hidden]")
            }
            if let problem = Self.nonFiniteFeature(imageFeatures) { throw invalidArtifact(path, problem) }
        }
    }
}

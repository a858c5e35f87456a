import Geometry
import TensorMath

/// Where the VLM looked for each object it named: per object its attention map at token
/// resolution, the image-token vector it came from, and the options that made it.
/// Schema "vlsam.attention" (see docs/artifacts.md).
public struct AttentionArtifact: Sendable, Equatable {
    public static let schema = ArtifactSchema.attention

    /// One named object's attention.
    public struct Object: Sendable, Equatable {
        public var name: String
        /// The query rows (sequence positions) whose flow rows were averaged.
        public var rows: [Int]
        /// The image-token vector a: one value per image token, in the objects artifact's order.
        public var tokenVector: [Float]
        /// The final map, [mapSize.height × mapSize.width] row-major, min-max normalised to [0, 1].
        public var map: [Float]
        public init(name: String, rows: [Int], tokenVector: [Float], map: [Float]) {
            self.name = name
            self.rows = rows
            self.tokenVector = tokenVector
            self.map = map
        }
    }

    public var provenance: Provenance
    public var originalSize: ImageSize
    /// Grid size of every object's map (8 × 8 without splitting, the mosaic's size with it).
    public var mapSize: ImageSize
    /// The original-image rectangle (x0, y0, x1, y1) the map covers.
    public var mapRect: [Double]
    /// The objects artifact this was computed from, and its SHA-256.
    public var objectsFile: String
    public var objectsSHA256: String
    /// w[l, h]: [layers × heads] row-major.
    public var headWeights: [Float]
    public var layers: Int
    public var heads: Int
    /// Option values (flow, alpha, regularization, query, tiles), also in provenance's parameters.
    public var flow: String
    public var alpha: Double
    public var regularization: String
    public var query: String
    public var tiles: String
    public var objects: [Object]

    public init(provenance: Provenance, originalSize: ImageSize, mapSize: ImageSize, mapRect: [Double],
                objectsFile: String, objectsSHA256: String, headWeights: [Float], layers: Int, heads: Int,
                flow: String, alpha: Double, regularization: String, query: String, tiles: String, objects: [Object]) {
        self.provenance = provenance
        self.originalSize = originalSize
        self.mapSize = mapSize
        self.mapRect = mapRect
        self.objectsFile = objectsFile
        self.objectsSHA256 = objectsSHA256
        self.headWeights = headWeights
        self.layers = layers
        self.heads = heads
        self.flow = flow
        self.alpha = alpha
        self.regularization = regularization
        self.query = query
        self.tiles = tiles
        self.objects = objects
    }

    /// Writes atomically: `path` appears complete or not at all.
    public func write(to path: String) throws {
        try validate(path)
        let count = objects.count, tokens = objects.first?.tokenVector.count ?? 0
        let file = try HDF5File(creatingAt: path)
        try provenance.write(to: file, schema: Self.schema)
        try file.setSize("original_size", originalSize)
        try file.setAttribute("map_rect", mapRect)
        try file.setAttribute("objects_file", objectsFile)
        try file.setAttribute("objects_sha256", objectsSHA256)
        try file.setAttribute("flow", flow)
        try file.setAttribute("alpha", alpha)
        try file.setAttribute("regularization", regularization)
        try file.setAttribute("query", query)
        try file.setAttribute("tiles", tiles)

        try file.write(objects.map(\.name), to: "object_names")
        try file.describe("object_names", "object names, as in the objects artifact")
        try file.write(objects.flatMap(\.map), shape: [count, mapSize.height, mapSize.width], to: "maps")
        try file.describe("maps", "attention map of each object at token resolution, min-max normalised to [0, 1]; " +
                          "it covers the rectangle map_rect of the original image", layout: "KHW")
        try file.write(objects.flatMap(\.tokenVector), shape: [count, tokens], to: "token_vectors")
        try file.describe("token_vectors", "flow row of each object restricted to the image tokens (objects artifact order), regularised")
        try file.write(headWeights, shape: [layers, heads], to: "head_weights")
        try file.describe("head_weights", "w[l, h]: mean over all query rows of the row's largest attention probability")
        var offsets: [Int32] = [0]
        for object in objects { offsets.append(offsets.last! + Int32(object.rows.count)) }
        try file.write(offsets, shape: [count + 1], to: "object_row_offsets")
        try file.describe("object_row_offsets", "rows of object k are object_rows[object_row_offsets[k] ..< object_row_offsets[k+1]]")
        try file.write(objects.flatMap(\.rows).map(Int64.init), shape: [Int(offsets.last!)], to: "object_rows")
        try file.describe("object_rows", "sequence positions of the query rows averaged for each object")
        try file.commit()
    }

    public static func read(from path: String) throws -> AttentionArtifact {
        let file = try HDF5File(readingAt: path)
        try requireSchema(file, schema)
        let provenance = try Provenance.read(from: file)
        try file.requireShape("object_names", [("K", nil)], holding: .strings)
        let names = try file.readStrings("object_names")
        let count = names.count
        let mapShape = try file.requireShape("maps", [("K", count), ("h", nil), ("w", nil)], holding: .floats)
        let tokens = try file.requireShape("token_vectors", [("K", count), ("N", nil)], holding: .floats)[1]
        let weightShape = try file.requireShape("head_weights", [("L", nil), ("H", nil)], holding: .floats)
        try file.requireShape("object_row_offsets", [("K+1", count + 1)], holding: .integers)
        try file.requireShape("object_rows", [("R", nil)], holding: .integers)
        let offsets = try file.readInt32("object_row_offsets").values.map(Int.init)
        let rows = try file.readInt64("object_rows").values.map(Int.init)
        guard offsets.first == 0, offsets.last == rows.count, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw file.invalid("object_row_offsets must rise from 0 to the number of object_rows (\(rows.count))")
        }
        let maps = try file.readTensor("maps").data, vectors = try file.readTensor("token_vectors").data
        let plane = mapShape[1] * mapShape[2]
        let rect = try file.requiredDoubles("map_rect")
        let artifact = AttentionArtifact(
            provenance: provenance, originalSize: try file.requiredSize("original_size"),
            mapSize: ImageSize(height: mapShape[1], width: mapShape[2]), mapRect: rect,
            objectsFile: try file.requiredString("objects_file"), objectsSHA256: try file.requiredString("objects_sha256"),
            headWeights: try file.readTensor("head_weights").data, layers: weightShape[0], heads: weightShape[1],
            flow: try file.requiredString("flow"), alpha: try file.requiredDouble("alpha"),
            regularization: try file.requiredString("regularization"), query: try file.requiredString("query"),
            tiles: try file.requiredString("tiles"),
            objects: (0..<count).map { k in
                Object(name: names[k], rows: Array(rows[offsets[k] ..< offsets[k + 1]]),
                       tokenVector: Array(vectors[k * tokens ..< (k + 1) * tokens]),
                       map: Array(maps[k * plane ..< (k + 1) * plane]))
            })
        try artifact.validate(path)
        return artifact
    }

    private func validate(_ path: String) throws {
        guard originalSize.height > 0, originalSize.width > 0 else { throw invalidArtifact(path, "original size \(originalSize) is empty") }
        guard mapSize.height > 0, mapSize.width > 0 else { throw invalidArtifact(path, "map size \(mapSize) is empty") }
        guard mapRect.count == 4, mapRect.allSatisfy(\.isFinite), mapRect[0] < mapRect[2], mapRect[1] < mapRect[3] else {
            throw invalidArtifact(path, "map_rect \(mapRect) is not a rectangle (x0, y0, x1, y1)")
        }
        guard headWeights.count == layers * heads else {
            throw invalidArtifact(path, "head_weights has \(headWeights.count) values for \(layers) layers × \(heads) heads")
        }
        if let problem = HDF5File.nonFiniteProblem(headWeights, shape: [layers, heads], dataset: "head_weights") {
            throw invalidArtifact(path, problem)
        }
        let tokens = objects.first?.tokenVector.count ?? 0
        for (k, object) in objects.enumerated() {
            let what = "object \(k) (\"\(object.name)\")"
            guard object.map.count == mapSize.height * mapSize.width, object.tokenVector.count == tokens else {
                throw invalidArtifact(path, "\(what): map or token vector has the wrong length")
            }
            if let index = object.map.firstIndex(where: { !$0.isFinite || $0 < 0 || $0 > 1 }) {
                throw invalidArtifact(path, "dataset \"maps\", \(what): value \(object.map[index]) at \(index) is not in [0, 1]")
            }
            if let index = object.tokenVector.firstIndex(where: { !$0.isFinite }) {
                throw invalidArtifact(path, "dataset \"token_vectors\", \(what): value \(object.tokenVector[index]) at \(index) is not finite")
            }
        }
    }
}

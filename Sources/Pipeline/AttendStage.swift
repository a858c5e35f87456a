import Artifacts
import Checkpoints
import Foundation
import Geometry
import Imaging
import TensorMath
import VLMModels
import VLSAMMethod

/// Attention extraction: a `vlsam.objects` artifact → one teacher-forced forward of the VLM over
/// prompt + answer → per object its attention map (method page §1–§7) → `vlsam.attention` artifact.
///
/// The vision tower does not run again when the objects artifact holds the listing's image
/// features (connector output); older artifacts without them re-encode the photo.
public struct AttendStage {
    public struct Options: Codable, Equatable, Sendable {
        public var flow: FlowKind = .rollout
        public var alpha: Double = 0.9
        public var regularization: Regularization = .column
        public var query: QueryRows = .both
        public var tiles: TileSelection = .both
        public init() {}
    }

    public let bundle: SmolVLMBundle

    public init(modelDirectory: String) throws {
        bundle = try SmolVLMBundle(directory: modelDirectory)
    }

    public init(bundle: SmolVLMBundle) {
        self.bundle = bundle
    }

    /// Reads the objects artifact and checks that its photo is unchanged and its model is this one.
    func listing(at path: String) throws -> ObjectsArtifact {
        let objects = try ObjectsArtifact.read(from: path)
        let image = objects.provenance.sourceImage
        guard FileManager.default.fileExists(atPath: image) else {
            throw StageError(path, "its photo \(image) is missing")
        }
        let digest = try sha256Hex(ofFile: image)
        guard digest == objects.provenance.sourceImageSHA256 else {
            throw StageError(image, "changed since \(path) was made (sha256 \(digest.prefix(12))…, recorded " +
                             "\(objects.provenance.sourceImageSHA256.prefix(12))…); list its objects again")
        }
        guard objects.provenance.checkpointSHA256 == bundle.weightsSHA256 else {
            throw StageError(path, "was listed with \(objects.provenance.modelName) (weights sha256 " +
                             "\(objects.provenance.checkpointSHA256.prefix(12))…), not with \(bundle.name) " +
                             "(\(bundle.weightsSHA256.prefix(12))…)")
        }
        let tokens = objects.inputIDs.count + objects.generatedIDs.count
        // The flow and attention matrices grow with the square of the sequence: refused before they are allocated.
        if let context = bundle.config.text.contextLength, tokens > context {
            throw StageError(path, "holds \(tokens) prompt and answer tokens, more than \(bundle.name)'s context of \(context)")
        }
        for (k, object) in objects.objects.enumerated() {
            for span in object.spans where span.isEmpty || span.lowerBound < 1 || span.upperBound > tokens {
                throw StageError(path, "object \(k) (\"\(object.name)\") has the span [\(span.lowerBound), " +
                                 "\(span.upperBound)), outside the \(tokens)-token sequence")
            }
        }
        guard !objects.objects.isEmpty else { throw StageError(path, "names no objects") }
        return objects
    }

    /// The listing's image features, or the photo encoded again when the artifact has none.
    func imageFeatures(_ objects: ObjectsArtifact) throws -> Tensor {
        if let features = objects.imageFeatures { return features }
        let prompt = try bundle.prompt("", image: try decodeImage(atPath: objects.provenance.sourceImage),
                                       splitting: objects.imageSplitting)
        return bundle.model.imageFeatures(prompt.image.tiles)
    }

    /// The `parameters` its artifacts record for `options`.
    public static func recordedParameters(_ options: Options) throws -> String { try Provenance.json(options) }

    /// Computes every object's map and writes the artifact atomically; optionally one heat-map
    /// PNG per object.
    @discardableResult
    public func run(objects objectsPath: String, output: String, options: Options, pngDirectory: String? = nil,
                    progress: ((String) -> Void)? = nil) throws -> AttentionArtifact {
        let objects = try listing(at: objectsPath)
        try requireOutput(output, differentFrom: [("objects", objectsPath), ("photo", objects.provenance.sourceImage)]
                          + modelFolderInputs(bundle.directory))
        let features = try imageFeatures(objects)
        let tokens = objects.inputIDs.count + objects.generatedIDs.count
        let positions = objects.imageTokenPositions
        let variant = AttentionFlow.Variant(kind: options.flow, alpha: Float(options.alpha))
        let flow = AttentionFlow(tokens: tokens, columns: positions, variants: [variant])
        let start = Date()
        try bundle.teacherForcedAttention(inputIDs: objects.inputIDs, generatedIDs: objects.generatedIDs,
                                          imageFeatures: features, file: objectsPath) { flow.consume($0) }
        progress?(String(format: "%d tokens, %d layers, %d objects in %.2f s", tokens, flow.layers, objects.objects.count,
                         Date().timeIntervalSince(start)))

        let assembly = MapAssembly(tileGrid: objects.tiles.map { tile in tile.row.flatMap { row in tile.col.map { (row, $0) } } },
                                   tokenTiles: objects.imageTokenTile, tokenCells: objects.imageTokenCell,
                                   gridSide: objects.gridSide)
        var mapSize = ImageSize(height: 1, width: 1)
        let results = objects.objects.map { object -> AttentionArtifact.Object in
            let rows = ObjectRows.rows(spans: object.spans, query: options.query)
            let vector = options.regularization.apply(to: flow.row(of: rows, variant: variant), columns: positions, tokens: tokens)
            let map = assembly.map(vector, tiles: options.tiles)
            mapSize = ImageSize(height: map.height, width: map.width)
            return AttentionArtifact.Object(name: object.name, rows: rows, tokenVector: vector, map: map.values)
        }
        let size = objects.originalSize
        let artifact = AttentionArtifact(
            provenance: Provenance(producer: "vlsam-attend", modelName: bundle.name, checkpointPath: bundle.weightsPath,
                                   checkpointSHA256: bundle.weightsSHA256, sourceImage: objects.provenance.sourceImage,
                                   sourceImageSHA256: objects.provenance.sourceImageSHA256,
                                   parameters: try Self.recordedParameters(options)),
            originalSize: size, mapSize: mapSize, mapRect: [0, 0, Double(size.width), Double(size.height)],
            objectsFile: objectsPath, objectsSHA256: try sha256Hex(ofFile: objectsPath),
            headWeights: flow.headWeights.flatMap { $0 }, layers: flow.layers, heads: flow.headWeights.first?.count ?? 0,
            flow: options.flow.rawValue, alpha: options.alpha, regularization: options.regularization.rawValue,
            query: options.query.rawValue, tiles: options.tiles.rawValue, objects: results)
        try artifact.write(to: output)
        if let pngDirectory { try writeHeatMaps(artifact, to: pngDirectory, stem: output) }
        return artifact
    }

    /// One overlay per object: the map resized to the photo, coloured, over the photo.
    func writeHeatMaps(_ artifact: AttentionArtifact, to directory: String, stem output: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let photo = try decodeImage(atPath: artifact.provenance.sourceImage)
        for (k, object) in artifact.objects.enumerated() {
            let map = promptMap(artifact, object: k)
            let picture = heatMapOverlay(photo, values: map.values)
            try writePNG(picture, to: pngPath(directory, output, k, object.name))
        }
    }
}

/// The object's map resized to the photo (§8's P).
public func promptMap(_ artifact: AttentionArtifact, object k: Int) -> AttentionMap {
    let grid = AttentionMap(height: artifact.mapSize.height, width: artifact.mapSize.width, values: artifact.objects[k].map)
    return BilinearUpsampling(inputHeight: grid.height, inputWidth: grid.width,
                              outputHeight: artifact.originalSize.height, outputWidth: artifact.originalSize.width).apply(grid)
}

/// `DIR/<output stem>_<k>_<name>.png`, the name made file-safe.
func pngPath(_ directory: String, _ output: String, _ k: Int, _ name: String) -> String {
    let stem = ((output as NSString).lastPathComponent as NSString).deletingPathExtension
    let safe = String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" })
    return (directory as NSString).appendingPathComponent("\(stem)_\(k)_\(safe).png")
}

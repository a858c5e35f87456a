import Foundation

/// Who made an artifact, from what, and how. Written as root attributes of every artifact, next to
/// `schema` and `schema_version`. Fields that do not apply to a stage are "" (for example a prompts
/// file made without a model has no checkpoint).
public struct Provenance: Sendable, Equatable {
    /// Program name, e.g. "vlsam-encode".
    public var producer: String
    public var producerVersion: String
    /// ISO 8601 UTC time, e.g. "2026-11-21T12:46:04Z".
    public var createdUTC: String
    public var modelName: String
    public var checkpointPath: String
    public var checkpointSHA256: String
    public var sourceImage: String
    public var sourceImageSHA256: String
    /// The stage's parameters as the text of one JSON object (`Provenance.json(_:)` makes it from a Codable).
    public var parameters: String
    /// True when the weights are random (a parity bundle's, or made by vlsam-random-weights):
    /// such an artifact runs the pipeline but means nothing.
    public var randomWeights: Bool

    public init(producer: String, producerVersion: String = vlsamVersion, createdUTC: String = Provenance.now(),
                modelName: String = "", checkpointPath: String = "", checkpointSHA256: String = "",
                sourceImage: String = "", sourceImageSHA256: String = "", parameters: String = "{}",
                randomWeights: Bool? = nil) {
        self.producer = producer
        self.producerVersion = producerVersion
        self.createdUTC = createdUTC
        self.modelName = modelName
        self.checkpointPath = checkpointPath
        self.checkpointSHA256 = checkpointSHA256
        self.sourceImage = sourceImage
        self.sourceImageSHA256 = sourceImageSHA256
        self.parameters = parameters
        self.randomWeights = randomWeights ?? Self.isRandomWeights(checkpointPath)
    }

    /// Random weights are recognised by where they sit: beside a parity bundle's `parity.h5`, or
    /// in a folder that vlsam-random-weights marked with a `RANDOM_WEIGHTS` file.
    public static func isRandomWeights(_ checkpointPath: String) -> Bool {
        guard !checkpointPath.isEmpty else { return false }
        var isFolder: ObjCBool = false
        let isExistingFolder = FileManager.default.fileExists(atPath: checkpointPath, isDirectory: &isFolder) && isFolder.boolValue
        let folder = isExistingFolder ? checkpointPath : (checkpointPath as NSString).deletingLastPathComponent
        return ["parity.h5", randomWeightsMarker].contains {
            FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent($0))
        }
    }

    /// The file vlsam-random-weights leaves beside the weights it makes.
    public static let randomWeightsMarker = "RANDOM_WEIGHTS"

    public static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }

    /// JSON object text with sorted keys, for `parameters`.
    public static func json<Parameters: Encodable>(_ parameters: Parameters) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(parameters), as: UTF8.self)
    }

    /// Decodes `parameters` into the stage's own parameter type.
    public func decodeParameters<Parameters: Decodable>(_ type: Parameters.Type) throws -> Parameters {
        try JSONDecoder().decode(type, from: Data(parameters.utf8))
    }

    /// Attribute names on the file root, in the order they are written.
    private var attributes: [(name: String, value: String)] {
        [("producer", producer), ("producer_version", producerVersion), ("created_utc", createdUTC),
         ("model_name", modelName), ("checkpoint_path", checkpointPath), ("checkpoint_sha256", checkpointSHA256),
         ("source_image", sourceImage), ("source_image_sha256", sourceImageSHA256), ("parameters", parameters)]
    }

    /// Writes `schema`, `schema_version` and every provenance field on the root of `file`.
    public func write(to file: HDF5File, schema: ArtifactSchema) throws {
        try validate(file: file.path)
        try file.setAttribute("schema", schema.name)
        try file.setAttribute("schema_version", schema.version)
        for attribute in attributes {
            try file.setAttribute(attribute.name, attribute.value)
        }
        try file.setAttribute("random_weights", randomWeights ? 1 : 0)
    }

    /// Reads the provenance attributes from the root of `file`; every one must be present.
    public static func read(from file: HDF5File) throws -> Provenance {
        func field(_ name: String) throws -> String {
            guard let value = try file.attributeString(name) else {
                throw ArtifactError(.missingObject, file: file.path, "missing provenance attribute \"\(name)\" on the root group")
            }
            return value
        }
        let provenance = Provenance(
            producer: try field("producer"), producerVersion: try field("producer_version"),
            createdUTC: try field("created_utc"), modelName: try field("model_name"),
            checkpointPath: try field("checkpoint_path"), checkpointSHA256: try field("checkpoint_sha256"),
            sourceImage: try field("source_image"), sourceImageSHA256: try field("source_image_sha256"),
            parameters: try field("parameters"), randomWeights: (try file.attributeInt("random_weights") ?? 0) == 1)
        try provenance.validate(file: file.path)
        return provenance
    }

    private func validate(file: String) throws {
        guard !producer.isEmpty else { throw ArtifactError(.invalidValue, file: file, "provenance has an empty producer") }
        let parsed = try? JSONSerialization.jsonObject(with: Data(parameters.utf8))
        guard parsed is [String: Any] else {
            throw ArtifactError(.invalidValue, file: file, "provenance parameters are not a JSON object: \(parameters.prefix(80))")
        }
        for (name, digest) in [("checkpoint_sha256", checkpointSHA256), ("source_image_sha256", sourceImageSHA256)]
        where !digest.isEmpty && !(digest.count == 64 && digest.allSatisfy(\.isHexDigit)) {
            throw ArtifactError(.invalidValue, file: file, "provenance \(name) is not 64 hex digits: \"\(digest.prefix(80))\"")
        }
    }
}

/// The version every vlsam program writes into `producer_version`.
public let vlsamVersion = "0.1.0"

/// The name and version of each artifact kind, defined here and nowhere else.
///
/// Versioning rule: `version` is bumped whenever a change would make an older reader misread a file
/// (renamed/removed dataset or attribute, changed meaning, shape or dtype). Adding optional content keeps
/// the version. Readers accept versions 1 through the one they were built with and reject newer ones.
public struct ArtifactSchema: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let version: Int

    public static let embedding = ArtifactSchema(name: "vlsam.embedding", version: 1)
    public static let prompts = ArtifactSchema(name: "vlsam.prompts", version: 1)
    public static let masks = ArtifactSchema(name: "vlsam.masks", version: 1)
    public static let objects = ArtifactSchema(name: "vlsam.objects", version: 1)
    public static let attention = ArtifactSchema(name: "vlsam.attention", version: 1)
    public static let detections = ArtifactSchema(name: "vlsam.detections", version: 1)

    public var description: String { "\(name) v\(version)" }
}

/// Checks the root `schema` / `schema_version` attributes and returns the file's version
/// (1…`version`); throws a one-line error for another schema, no schema, or a newer version.
@discardableResult
public func requireSchema(_ file: HDF5File, name: String, version: Int) throws -> Int {
    guard let found = try file.attributeString("schema") else {
        throw ArtifactError(.wrongSchema, file: file.path, "has no schema attribute (not written by vlsam?); expected a \(name) artifact")
    }
    guard found == name else {
        throw ArtifactError(.wrongSchema, file: file.path, "not a \(name) artifact (schema attribute is \"\(found)\")")
    }
    guard let foundVersion = try file.attributeInt("schema_version") else {
        throw ArtifactError(.wrongSchema, file: file.path, "\(name) artifact has no schema_version attribute")
    }
    guard foundVersion >= 1 else {
        throw ArtifactError(.wrongSchema, file: file.path, "\(name) schema_version \(foundVersion) is invalid (versions start at 1)")
    }
    guard foundVersion <= version else {
        throw ArtifactError(.unsupportedVersion, file: file.path,
                            "\(name) schema version \(foundVersion) is newer than this program supports (\(version)); vlsam \(vlsamVersion) is too old for this file")
    }
    return foundVersion
}

public func requireSchema(_ file: HDF5File, _ schema: ArtifactSchema) throws {
    try requireSchema(file, name: schema.name, version: schema.version)
}

import Foundation
import Imaging
import Pipeline
import Yams

/// Every method option of a batch: the stages' own options plus what only the driver does
/// (refinement loop, merging, ensembles). Read from a YAML file whose keys are these property
/// names (any subset; the rest keep their defaults), then overridden by command-line flags.
public struct RunConfiguration: Codable, Equatable, Sendable {
    public var list = ListStage.Options()
    public var attend = AttendStage.Options()
    public var points = PointsStage.Options()
    public var decode = DecodeStage.Options()
    /// K: refinement steps after the first decode (method page §9).
    public var refinementIterations = 2
    /// Mask-IoU above which candidates of one name suppress each other (§10).
    public var mergeIoU = 0.5
    /// Question ensemble: several listing prompts whose objects are pooled; nil asks `list.prompt` alone.
    public var questions: [String]?
    /// Multi-scale ensemble (§10): the whole method also runs on the photo's four quadrant crops
    /// (`Multiscale.crops`), whose masks are pasted back into the photo and merged with the rest.
    public var multiscale = false
    /// Photos of more pixels are refused before decoding (`--max-pixels`). It changes no
    /// result, so no artifact records it.
    public var maxPixels = defaultMaxDecodedPixels

    public init() {
        decode.multimask = true
    }

    /// The listing prompts this run asks, in order.
    public var prompts: [String] { questions ?? [list.prompt] }

    /// The scales this run segments: 0 the whole photo, with `multiscale` also its quadrants 1…4.
    public var scales: [Int] { multiscale ? Array(0...Multiscale.quadrants.count) : [0] }

    /// The defaults overlaid with a YAML file. Unknown keys and values of the wrong type are
    /// one-line errors naming the file.
    public static func load(yamlFile path: String) throws -> RunConfiguration {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw StageError(path, "cannot read the configuration file")
        }
        let loaded: Any?
        do { loaded = try Yams.load(yaml: text) } catch {
            throw StageError(path, "is not valid YAML: \(String(describing: error).split(separator: "\n").joined(separator: " "))")
        }
        guard let overrides = loaded as? [String: Any] ?? (loaded == nil ? [:] : nil) else {
            throw StageError(path, "must be a mapping of option names to values")
        }
        let configuration = try RunConfiguration().overlaid(with: overrides, source: path)
        guard configuration.maxPixels >= 1 else { throw StageError(path, "option maxPixels must be at least 1") }
        return configuration
    }

    /// This configuration with `overrides` (nested mappings, as in the YAML file) laid over it.
    func overlaid(with overrides: [String: Any], source: String) throws -> RunConfiguration {
        let base = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as! [String: Any]
        let merged = Self.merge(base, overrides)
        let result: RunConfiguration
        do {
            result = try JSONDecoder().decode(RunConfiguration.self, from: JSONSerialization.data(withJSONObject: merged))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw StageError(source, "option \(key) has a value of the wrong kind (\(context.debugDescription))")
        }
        // A key that does not come back from the decoded result is not an option.
        let known = try JSONSerialization.jsonObject(with: JSONEncoder().encode(result)) as! [String: Any]
        if let unknown = Self.unknownKeys(overrides, known: known, optional: Self.optionalKeys).first {
            throw StageError(source, "unknown option \(unknown)")
        }
        return result
    }

    /// Keys that are absent from the encoded defaults because their value is nil.
    static let optionalKeys: Set = ["list.imageSplitting", "list.objects", "questions"]

    static func merge(_ base: [String: Any], _ overrides: [String: Any]) -> [String: Any] {
        var result = base
        for (key, value) in overrides {
            if let nested = value as? [String: Any], let inner = base[key] as? [String: Any] {
                result[key] = merge(inner, nested)
            } else {
                result[key] = value
            }
        }
        return result
    }

    static func unknownKeys(_ overrides: [String: Any], known: [String: Any], optional: Set<String>, prefix: String = "") -> [String] {
        overrides.keys.sorted().flatMap { key -> [String] in
            let path = prefix + key
            guard let knownValue = known[key] else { return optional.contains(path) ? [] : [path] }
            if let nested = overrides[key] as? [String: Any], let inner = knownValue as? [String: Any] {
                return unknownKeys(nested, known: inner, optional: optional, prefix: path + ".")
            }
            return []
        }
    }

    /// The configuration as YAML (`--print-config`).
    public func yaml() throws -> String {
        // Yams' own encoder: the Foundation objects of a JSON round trip (NSNumber) are not
        // representable by Yams on Linux ("Failed to represent 64").
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        return try encoder.encode(self)
    }
}

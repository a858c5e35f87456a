import Artifacts
import Foundation

/// The kinds of artifact a batch makes, each read by its own schema.
enum ArtifactKind: String, Sendable {
    case objects, attention, prompts, embedding, masks, detections
}

/// What an existing artifact must record to be reused: the same parameters, model, producer
/// version and inputs (SHA-256 of the photo or of upstream artifacts) as this run would use.
struct Expectation {
    var kind: ArtifactKind
    var parameters: String
    /// The weights' SHA-256; "" where the stage uses no model.
    var modelSHA256: String
    /// Input name → SHA-256 of the input file this run would give the stage.
    var inputs: [String: String]
}

/// Whether to reuse an artifact, and if not, why it (and everything downstream) runs again.
enum Decision: Equatable {
    case reuse
    case run(reason: String)
}

/// What an artifact file says about how it was made.
struct Recorded {
    var producerVersion: String
    var parameters: String
    var modelSHA256: String
    var inputs: [String: String]

    /// Reads `path` with its schema's reader, so an incomplete, foreign or corrupt file throws.
    init(kind: ArtifactKind, path: String) throws {
        switch kind {
        case .objects:
            let a = try ObjectsArtifact.read(from: path)
            self.init(a.provenance, model: a.provenance.checkpointSHA256, inputs: ["photo": a.provenance.sourceImageSHA256])
        case .attention:
            let a = try AttentionArtifact.read(from: path)
            self.init(a.provenance, model: a.provenance.checkpointSHA256, inputs: ["objects": a.objectsSHA256])
        case .prompts:
            let a = try PromptsArtifact.read(from: path)
            self.init(a.provenance, model: "", inputs: ["attention": a.origin?.attentionSHA256 ?? "",
                                                        "previous masks": a.origin?.masksSHA256 ?? ""])
        case .embedding:
            let a = try EmbeddingArtifact.read(from: path)
            self.init(a.provenance, model: a.provenance.checkpointSHA256, inputs: ["photo": a.provenance.sourceImageSHA256])
        case .masks:
            let a = try MasksArtifact.read(from: path)
            self.init(a.provenance, model: a.provenance.checkpointSHA256,
                      inputs: ["embedding": a.embeddingSHA256, "prompts": a.prompts?.sha256 ?? ""])
        case .detections:
            let a = try DetectionsArtifact.read(from: path)
            self.init(a.provenance, model: "", inputs: a.inputs)
        }
    }

    init(_ provenance: Provenance, model: String, inputs: [String: String]) {
        producerVersion = provenance.producerVersion
        parameters = provenance.parameters
        modelSHA256 = model
        self.inputs = inputs
    }
}

extension Expectation {
    /// Reuse only a complete artifact of the right schema made exactly as this run would make it.
    func decide(path: String) -> Decision {
        guard FileManager.default.fileExists(atPath: path) else { return .run(reason: "missing") }
        let recorded: Recorded
        do { recorded = try Recorded(kind: kind, path: path) } catch {
            return .run(reason: "unreadable (\(String(describing: error).split(separator: "\n").joined(separator: " ")))")
        }
        if recorded.producerVersion != vlsamVersion {
            return .run(reason: "made by vlsam \(recorded.producerVersion), this is \(vlsamVersion)")
        }
        if recorded.parameters != parameters {
            return .run(reason: "parameter \(Self.changedKeys(recorded.parameters, parameters).joined(separator: ", ")) changed")
        }
        if recorded.modelSHA256 != modelSHA256 { return .run(reason: "model changed") }
        for name in inputs.keys.sorted() where recorded.inputs[name] != inputs[name] {
            return .run(reason: "input changed (\(name))")
        }
        // An input it had that this run would not give it (say, a question dropped from the ensemble).
        if let name = recorded.inputs.keys.sorted().first(where: { inputs[$0] == nil && !recorded.inputs[$0]!.isEmpty }) {
            return .run(reason: "input \(name) no longer used")
        }
        return .reuse
    }

    /// The top-level and nested keys whose values differ between two JSON objects.
    static func changedKeys(_ old: String, _ new: String) -> [String] {
        func object(_ text: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }
        func diff(_ a: [String: Any], _ b: [String: Any], _ prefix: String) -> [String] {
            Set(a.keys).union(b.keys).sorted().flatMap { key -> [String] in
                if let x = a[key] as? [String: Any], let y = b[key] as? [String: Any] { return diff(x, y, prefix + key + ".") }
                return (a[key] as? NSObject) == (b[key] as? NSObject) ? [] : [prefix + key]
            }
        }
        let keys = diff(object(old), object(new), "")
        return keys.isEmpty ? ["(parameters text)"] : keys
    }
}

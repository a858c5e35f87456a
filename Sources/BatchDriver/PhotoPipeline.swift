import Artifacts
import Checkpoints
import Foundation
import Geometry
import Pipeline
import VLMModels
import VLSAMMethod

/// The method on one photo, step by step (list → attend → points → encode → decode →
/// (points with the previous masks → decode) × K → merge), each step's artifact reused when it
/// is complete and fresh (`Expectation.decide`) and made again otherwise, with everything
/// downstream of it. The models are loaded once and shared by every photo.
public final class PhotoPipeline: @unchecked Sendable {
    /// The stages that need the models, loaded once.
    public struct Models {
        let list: ListStage
        let attend: AttendStage
        let encode: EncodeStage
        let decode: DecodeStage
        let vlmSHA256: String, samSHA256: String

        public init(vlm: SmolVLMBundle, sam: LoadedModel) {
            list = ListStage(bundle: vlm)
            attend = AttendStage(bundle: vlm)
            encode = EncodeStage(loaded: sam)
            decode = DecodeStage(loaded: sam)
            vlmSHA256 = vlm.weightsSHA256
            samSHA256 = sam.checkpointSHA256
        }
    }

    public let layout: OutputLayout
    public let configuration: RunConfiguration
    /// nil: only the last step runs (merging what the stages left, as `vlsam-run --merge` does).
    let models: Models?
    let points = PointsStage()

    public init(layout: OutputLayout, configuration: RunConfiguration, models: Models?) {
        self.layout = layout
        self.configuration = configuration
        self.models = models
    }

    /// One step: the stage that makes `output` from `inputs`, and how to tell a fresh output.
    struct Step {
        var stage: String
        var output: String
        var kind: ArtifactKind
        var parameters: String
        var modelSHA256: String
        /// Input name → file.
        var inputs: [(name: String, path: String)]
        var run: () throws -> Void
    }

    /// What happened to one step of one photo.
    public struct StepReport: Sendable {
        public enum Status: String, Sendable { case ran, reused, wouldRun = "would run", failed }
        public var stage: String
        public var output: String
        public var status: Status
        public var seconds: Double
        public var reason: String
    }

    /// What happened to one photo.
    public struct PhotoReport: Sendable {
        public var photo: String
        public var stem: String
        public var steps: [StepReport] = []
        public var detections = 0
        public var error: String?
    }

    /// Runs (or with `dryRun`, only plans) every step of `photo`; never throws, a failure is in
    /// the report. `onStep` sees each step as it finishes.
    public func process(photo: String, stem: String, dryRun: Bool, onStep: ((StepReport) -> Void)? = nil) -> PhotoReport {
        var report = PhotoReport(photo: photo, stem: stem)
        // Outputs that this run makes (or, dry, would make) anew: their dependants run too.
        var changed = Set<String>()
        var current: Step?
        do {
            try FileManager.default.createDirectory(atPath: layout.photoFolder(stem), withIntermediateDirectories: true)
            for step in try steps(photo: photo, stem: stem) {
                current = step
                let start = Date()
                let decision = try decide(step, changed: changed, photo: photo)
                var entry = StepReport(stage: step.stage, output: step.output, status: .reused, seconds: 0, reason: "")
                if case .run(let reason) = decision {
                    entry.reason = reason
                    changed.insert(step.output)
                    if dryRun {
                        entry.status = .wouldRun
                    } else {
                        try step.run()
                        entry.status = .ran
                    }
                }
                entry.seconds = Date().timeIntervalSince(start)
                report.steps.append(entry)
                onStep?(entry)
            }
            current = nil
            if !dryRun { report.detections = try DetectionsArtifact.read(from: layout.detections(stem)).detections.count }
        } catch {
            let message = String(describing: error).split(separator: "\n").joined(separator: " ")
            report.error = message
            if let step = current {
                let entry = StepReport(stage: step.stage, output: step.output, status: .failed, seconds: 0, reason: message)
                report.steps.append(entry)
                onStep?(entry)
            }
        }
        return report
    }

    /// Reuse or run: a step whose input this run changes runs without looking at its output.
    func decide(_ step: Step, changed: Set<String>, photo: String) throws -> Decision {
        if let input = step.inputs.first(where: { changed.contains($0.path) }) {
            return .run(reason: "input changed (\(input.name))")
        }
        var inputs: [String: String] = [:]
        for input in step.inputs {
            guard FileManager.default.fileExists(atPath: input.path) else { return .run(reason: "input missing (\(input.name))") }
            inputs[input.name] = try sha256Hex(ofFile: input.path)
        }
        let expectation = Expectation(kind: step.kind, parameters: step.parameters, modelSHA256: step.modelSHA256, inputs: inputs)
        return expectation.decide(path: step.output)
    }

    /// Every step of one photo, in order; without models only the last.
    func steps(photo: String, stem: String) throws -> [Step] {
        let c = configuration
        var steps: [Step] = []
        let embedding = layout.embedding(stem)
        guard let models else { return [try detectionsStep(photo: photo, stem: stem)] }
        let (list, attend, encode, decode) = (models.list, models.attend, models.encode, models.decode)
        let (vlmSHA256, samSHA256) = (models.vlmSHA256, models.samSHA256)
        steps.append(Step(stage: "encode", output: embedding, kind: .embedding, parameters: try encode.recordedParameters(),
                          modelSHA256: samSHA256, inputs: [("photo", photo)]) { [encode] in
            try encode.run(image: photo, output: embedding)
        })
        for (q, prompt) in c.prompts.enumerated() {
            var listOptions = c.list
            listOptions.prompt = prompt
            let objects = layout.objects(stem, question: q), attention = layout.attention(stem, question: q)
            steps.append(Step(stage: "list", output: objects, kind: .objects, parameters: try list.recordedParameters(listOptions),
                              modelSHA256: vlmSHA256, inputs: [("photo", photo)]) {
                let listed = try list.run(image: photo, output: objects, options: listOptions)
                if listed.objects.isEmpty { throw StageError(photo, "the VLM named no objects (answer: \"\(listed.generatedText)\")") }
            })
            steps.append(Step(stage: "attend", output: attention, kind: .attention,
                              parameters: try AttendStage.recordedParameters(c.attend), modelSHA256: vlmSHA256,
                              inputs: [("objects", objects)]) {
                try attend.run(objects: objects, output: attention, options: c.attend)
            })
            for k in 0...c.refinementIterations {
                let promptsPath = layout.prompts(stem, question: q, iteration: k)
                let masksPath = layout.masks(stem, question: q, iteration: k)
                let previous = k > 0 ? layout.masks(stem, question: q, iteration: k - 1) : nil
                steps.append(Step(stage: k == 0 ? "points" : "refine points", output: promptsPath, kind: .prompts,
                                  parameters: try PointsStage.recordedParameters(c.points), modelSHA256: "",
                                  inputs: [("attention", attention)] + (previous.map { [("previous masks", $0)] } ?? [])) { [points] in
                    try points.run(attention: attention, previousMasks: previous, output: promptsPath, options: c.points)
                })
                steps.append(Step(stage: k == 0 ? "decode" : "refine decode", output: masksPath, kind: .masks,
                                  parameters: try DecodeStage.recordedParameters(c.decode), modelSHA256: samSHA256,
                                  inputs: [("embedding", embedding), ("prompts", promptsPath)]) {
                    try decode.run(embeddingPath: embedding, prompts: .file(promptsPath), options: c.decode, output: masksPath)
                })
            }
        }
        steps.append(try detectionsStep(photo: photo, stem: stem))
        return steps
    }

    /// The last step: every question's masks of every iteration → merged detections.
    func detectionsStep(photo: String, stem: String) throws -> Step {
        let iterations = configuration.prompts.indices.map { q in
            (question: q,
             masks: (0...configuration.refinementIterations).map { layout.masks(stem, question: q, iteration: $0) },
             prompts: (0...configuration.refinementIterations).map { layout.prompts(stem, question: q, iteration: $0) })
        }
        let inputs = iterations.flatMap(\.masks).map { (name: ($0 as NSString).lastPathComponent, path: $0) }
        return Step(stage: "detections", output: layout.detections(stem), kind: .detections,
                    parameters: try Provenance.json(MergeParameters(configuration)), modelSHA256: "", inputs: inputs) { [self] in
            try writeDetections(photo: photo, stem: stem, iterations: iterations)
        }
    }
}

/// What the detections step records as its parameters.
struct MergeParameters: Codable {
    var mergeIoU: Double
    var convergedIoU: Double
    init(_ configuration: RunConfiguration) {
        mergeIoU = configuration.mergeIoU
        convergedIoU = Refinement.convergedIoU
    }
}

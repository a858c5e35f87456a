import Artifacts
import Checkpoints
import Foundation
import Geometry
import Imaging
import Pipeline
import VLMModels
import VLSAMMethod

/// The method on one photo, step by step (list → attend → points → encode → decode →
/// (points with the previous masks → decode) × K, with `multiscale` again on each quadrant crop
/// → merge), each step's artifact reused when it
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
        /// How a step's existing output is judged: an HDF5 artifact by what it records
        /// (`Expectation.decide`), a crop PNG by its record beside it (`CropRecord.decide`).
        enum Output {
            case artifact(ArtifactKind)
            case crop(record: String)
        }

        var stage: String
        var output: String
        var kind: Output
        var parameters: String
        var modelSHA256: String
        /// Input name → file.
        var inputs: [(name: String, path: String)]
        var run: () throws -> Void
        /// A crop's listings (objects artifacts) this step serves: when every one of them named
        /// nothing, the step is left out (a quadrant may hold nothing the VLM names).
        var listings: [String] = []
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
        public var folder: String
        public var steps: [StepReport] = []
        public var detections = 0
        public var error: String?
        /// Done, but worth a look: no detection came out (no object was localised, or every mask was empty).
        public var note: String? {
            error == nil && detections == 0 && steps.contains(where: { $0.stage == "detections" && $0.status != .wouldRun })
                ? "no detections: no object was localised, or every mask was empty" : nil
        }
    }

    /// Runs (or with `dryRun`, only plans) every step of `photo`; never throws, a failure is in
    /// the report. `onStep` sees each step as it finishes.
    public func process(photo: String, folder: String, dryRun: Bool, onStep: ((StepReport) -> Void)? = nil) -> PhotoReport {
        var report = PhotoReport(photo: photo, folder: folder)
        // Outputs that this run makes (or, dry, would make) anew: their dependants run too.
        var changed = Set<String>()
        // Whether a crop's listing named nothing, once its step has run or been reused.
        var listedNothing: [String: Bool] = [:]
        func namedNothing(_ objects: String) -> Bool {
            if let known = listedNothing[objects] { return known }
            // Dry, a listing this run would make again is unknown: assume it names something.
            if dryRun && changed.contains(objects) { return false }
            let empty = (try? ObjectsArtifact.read(from: objects))?.objects.isEmpty ?? false
            listedNothing[objects] = empty
            return empty
        }
        var current: Step?
        func perform(_ step: Step) throws {
            if !step.listings.isEmpty && step.listings.allSatisfy(namedNothing) { return }
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
            current = nil
        }
        do {
            try FileManager.default.createDirectory(atPath: layout.photoFolder(folder), withIntermediateDirectories: true)
            for step in try steps(photo: photo, folder: folder) { try perform(step) }
            try perform(try detectionsStep(photo: photo, folder: folder, listedNothing: namedNothing))
            if !dryRun { report.detections = try DetectionsArtifact.read(from: layout.detections(folder)).detections.count }
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
        switch step.kind {
        case .artifact(let kind):
            let expectation = Expectation(kind: kind, parameters: step.parameters, modelSHA256: step.modelSHA256, inputs: inputs)
            return expectation.decide(path: step.output)
        case .crop(let record):
            return CropRecord.decide(parameters: step.parameters, photoSHA256: inputs["photo"], png: step.output, record: record)
        }
    }

    /// Every step of one photo that needs the models, in order (none without models); the
    /// detections step follows them. With `multiscale`, after the photo's steps come each
    /// quadrant's: the crop, its listings, its encoding, then the rest of each question's chain.
    func steps(photo: String, folder: String) throws -> [Step] {
        guard let models else { return [] }
        let c = configuration
        let (list, attend, encode, decode) = (models.list, models.attend, models.encode, models.decode)
        let (vlmSHA256, samSHA256) = (models.vlmSHA256, models.samSHA256)
        // The crops' rectangles are their steps' parameters, so the photo is decoded to plan them.
        let pixels = c.multiscale ? try decodeImage(atPath: photo) : nil
        var steps: [Step] = []
        for s in c.scales {
            // The picture this scale segments: the photo, or its crop as a photo of its own.
            let image = s == 0 ? photo : layout.crop(folder, scale: s)
            let embedding = layout.embedding(folder, scale: s)
            let listings = s == 0 ? [] : c.prompts.indices.map { layout.objects(folder, question: $0, scale: s) }
            if let pixels, s > 0 {
                let rectangle = Multiscale.crop(scale: s, height: pixels.height, width: pixels.width)
                let record = layout.cropRecord(folder, scale: s)
                steps.append(Step(stage: "crop", output: image, kind: .crop(record: record),
                                  parameters: try CropRecord.parameters(rectangle), modelSHA256: "", inputs: [("photo", photo)]) {
                    try CropRecord.make(photo: pixels, photoPath: photo, rectangle: rectangle, png: image, record: record)
                })
            }
            let encodeStep = Step(stage: "encode", output: embedding, kind: .artifact(.embedding),
                                  parameters: try encode.recordedParameters(), modelSHA256: samSHA256,
                                  inputs: [("photo", image)], run: { [encode] in
                try encode.run(image: image, output: embedding)
            }, listings: listings)
            var listSteps: [Step] = [], chains: [[Step]] = []
            for (q, prompt) in c.prompts.enumerated() {
                var listOptions = c.list
                listOptions.prompt = prompt
                let objects = layout.objects(folder, question: q, scale: s), attention = layout.attention(folder, question: q, scale: s)
                let crop = s > 0
                listSteps.append(Step(stage: "list", output: objects, kind: .artifact(.objects),
                                      parameters: try list.recordedParameters(listOptions), modelSHA256: vlmSHA256,
                                      inputs: [("photo", image)], run: {
                    let listed = try list.run(image: image, output: objects, options: listOptions)
                    // A photo must hold something the VLM names; a quadrant of it need not.
                    if listed.objects.isEmpty && !crop {
                        throw StageError(photo, "the VLM named no objects (answer: \"\(listed.generatedText)\")")
                    }
                }))
                let served = crop ? [objects] : []
                var chain = [Step(stage: "attend", output: attention, kind: .artifact(.attention),
                                  parameters: try AttendStage.recordedParameters(c.attend), modelSHA256: vlmSHA256,
                                  inputs: [("objects", objects)], run: {
                    try attend.run(objects: objects, output: attention, options: c.attend)
                }, listings: served)]
                for k in 0...c.refinementIterations {
                    let promptsPath = layout.prompts(folder, question: q, iteration: k, scale: s)
                    let masksPath = layout.masks(folder, question: q, iteration: k, scale: s)
                    let previous = k > 0 ? layout.masks(folder, question: q, iteration: k - 1, scale: s) : nil
                    chain.append(Step(stage: k == 0 ? "points" : "refine points", output: promptsPath, kind: .artifact(.prompts),
                                      parameters: try PointsStage.recordedParameters(c.points, refining: k > 0), modelSHA256: "",
                                      inputs: [("attention", attention)] + (previous.map { [("previous masks", $0)] } ?? []),
                                      run: { [points] in
                        try points.run(attention: attention, previousMasks: previous, output: promptsPath, options: c.points)
                    }, listings: served))
                    chain.append(Step(stage: k == 0 ? "decode" : "refine decode", output: masksPath, kind: .artifact(.masks),
                                      parameters: try DecodeStage.recordedParameters(c.decode), modelSHA256: samSHA256,
                                      inputs: [("embedding", embedding), ("prompts", promptsPath)], run: {
                        try decode.run(embeddingPath: embedding, prompts: .file(promptsPath), options: c.decode, output: masksPath)
                    }, listings: served))
                }
                chains.append(chain)
            }
            if s == 0 {
                // The photo's order as before the ensemble: encode, then each question's chain.
                steps.append(encodeStep)
                for (listStep, chain) in zip(listSteps, chains) { steps += [listStep] + chain }
            } else {
                // A crop is encoded only when some question's listing named something in it.
                steps += listSteps + [encodeStep] + chains.flatMap { $0 }
            }
        }
        return steps
    }

    /// One question's masks of one scale, every iteration: what the detections step merges.
    struct Chain {
        var question: Int
        var scale: Int
        var attention: String
        var masks: [String]
        var prompts: [String]
    }

    /// The last step: every question's masks of every iteration and scale → merged detections. A
    /// crop whose listing named nothing contributes its listing instead (so a change to it is seen).
    func detectionsStep(photo: String, folder: String, listedNothing: (String) -> Bool) throws -> Step {
        let c = configuration
        var chains: [Chain] = [], inputs: [(name: String, path: String)] = []
        for s in c.scales {
            for q in c.prompts.indices {
                let objects = layout.objects(folder, question: q, scale: s)
                if s > 0 && listedNothing(objects) {
                    inputs.append(((objects as NSString).lastPathComponent, objects))
                    continue
                }
                let chain = Chain(question: q, scale: s, attention: layout.attention(folder, question: q, scale: s),
                                  masks: (0...c.refinementIterations).map { layout.masks(folder, question: q, iteration: $0, scale: s) },
                                  prompts: (0...c.refinementIterations).map { layout.prompts(folder, question: q, iteration: $0, scale: s) })
                chains.append(chain)
                inputs += chain.masks.map { (($0 as NSString).lastPathComponent, $0) }
            }
        }
        return Step(stage: "detections", output: layout.detections(folder), kind: .artifact(.detections),
                    parameters: try Provenance.json(MergeParameters(c)), modelSHA256: "", inputs: inputs) { [self] in
            try writeDetections(photo: photo, folder: folder, chains: chains, inputs: inputs)
        }
    }
}

/// What the detections step records as its parameters.
struct MergeParameters: Codable {
    var mergeIoU: Double
    var convergedIoU: Double
    /// true with the multi-scale ensemble; absent without, so that earlier artifacts stay fresh.
    var multiscale: Bool?
    init(_ configuration: RunConfiguration) {
        mergeIoU = configuration.mergeIoU
        convergedIoU = Refinement.convergedIoU
        multiscale = configuration.multiscale ? true : nil
    }
}

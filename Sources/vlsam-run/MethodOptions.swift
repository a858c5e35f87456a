import ArgumentParser
import BatchDriver
import Pipeline
import VLSAMMethod

/// Every method option as a flag; a flag given overrides the configuration file.
struct MethodOptions: ParsableArguments {
    @Option(help: "The listing question.")
    var prompt: String?

    @Option(help: "File of listing questions, one per line: a question ensemble whose objects are pooled.")
    var questions: String?

    @Flag(inversion: .prefixedNo, help: "Split the photo into 512-pixel tiles for the VLM (default: the processor's setting).")
    var split: Bool?

    @Option(help: "Longest answer in tokens.")
    var maxNewTokens: Int?

    @Option(help: "Open vocabulary: comma-separated names teacher-forced instead of asking.")
    var objects: String?

    @Option(help: "Open vocabulary from a COCO instances.json: its category names are teacher-forced, detections.json uses its category and image ids.")
    var categories: String?

    @Option(help: "rollout or mean.") var flow: FlowKind?
    @Option(help: "Residual share alpha of the flow.") var alpha: Double?
    @Option(help: "column or none.") var regularization: Regularization?
    @Option(help: "both, predicting or token.") var query: QueryRows?
    @Option(help: "both, local or global.") var tiles: TileSelection?
    @Option(help: "vl-sam, local-maxima, kmeans or random.") var strategy: SamplingStrategy?
    @Option(help: "Point threshold tau in (0, 1].") var threshold: Double?
    @Option(name: .customLong("points"), help: "Points per kind (local-maxima, kmeans, random).") var pointCount: Int?
    @Option(help: "Seed of kmeans and random.") var seed: UInt64?
    @Flag(help: "Refinement also prompts with the kept mask's box.") var boxFromMask = false
    @Option(help: "K: refinement iterations after the first decode.") var iterations: Int?
    @Option(name: .customLong("merge-iou"), help: "Mask IoU above which detections of one name are merged.") var mergeIoU: Double?
    @Flag(help: "Multi-scale ensemble: also run the method on the photo's four quadrant crops (each 55% of the height and width, anchored at a corner) and merge their masks with the whole photo's.")
    var multiscale = false

    func validate() throws {
        if let threshold, !(threshold > 0 && threshold <= 1) { throw ValidationError("--threshold \(threshold) is outside (0, 1]") }
        if let alpha, !(alpha >= 0 && alpha < 1) { throw ValidationError("--alpha \(alpha) is outside [0, 1)") }
        if let iterations, iterations < 0 { throw ValidationError("--iterations must be at least 0") }
        if let mergeIoU, !(mergeIoU >= 0 && mergeIoU <= 1) { throw ValidationError("--merge-iou \(mergeIoU) is outside [0, 1]") }
        if objects != nil && categories != nil { throw ValidationError("give --objects or --categories, not both") }
    }

    /// Lays the given flags over `configuration`; returns the categories when `--categories` was given.
    func apply(to c: inout RunConfiguration) throws -> Categories? {
        if let prompt { c.list.prompt = prompt }
        if let questions { c.questions = try readListFile(questions) }
        if let split { c.list.imageSplitting = split }
        if let maxNewTokens { c.list.maxNewTokens = maxNewTokens }
        if let objects { c.list.objects = objects.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        if let flow { c.attend.flow = flow }
        if let alpha { c.attend.alpha = alpha }
        if let regularization { c.attend.regularization = regularization }
        if let query { c.attend.query = query }
        if let tiles { c.attend.tiles = tiles }
        if let strategy { c.points.strategy = strategy }
        if let threshold { c.points.threshold = threshold }
        if let pointCount { c.points.points = pointCount }
        if let seed { c.points.seed = seed }
        if boxFromMask { c.points.boxFromMask = true }
        if let iterations { c.refinementIterations = iterations }
        if let mergeIoU { c.mergeIoU = mergeIoU }
        if multiscale { c.multiscale = true }
        guard let categories else { return nil }
        let loaded = try Categories(instancesJSON: categories)
        c.list.objects = loaded.names
        return loaded
    }
}

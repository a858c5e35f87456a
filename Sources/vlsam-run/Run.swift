import ArgumentParser
import BatchDriver
import Foundation
import Imaging
import Pipeline
import StageCommandLine
import VLSAMMethod

@main
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlsam-run",
        abstract: "Run the whole VL-SAM method over a folder of photos: resumable, one folder of artifacts per photo, COCO results and a report.",
        discussion: """
        Per photo: list → attend → points → encode → decode → (points with the previous masks → decode) × K → \
        merge. An artifact is reused only when it is complete and was made with this run's parameters, models, \
        vlsam version and inputs; otherwise it and everything downstream run again (--dry-run says which and why). \
        A bad photo is logged and skipped; the exit status is 1 when any photo failed.
          vlsam-run --images photos/ --out results/
          vlsam-run --images photos/ --out results/ --config run.yaml --threshold 0.6 --dry-run
          vlsam-run --list photos.txt --out results/ --categories instances.json --jobs 2
          vlsam-run --images coco/ --out results/ --categories coco/instances.json --eval
        Without --vlm/--sam it uses weights/SmolVLM-256M-Instruct and weights/efficient_sam_vitt.pt (make weights), \
        else the random-weight parity models in ../shared (VLSAM_SHARED), and says that their masks mean nothing.
        """)

    @Option(help: "Folder of photos (.jpg, .jpeg, .png, any case).")
    var images: String?

    @Option(help: "File listing photo paths, one per line (# comments).")
    var list: String?

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "SmolVLM model folder.")
    var vlm: String?

    @Option(help: "SAM or EfficientSAM checkpoint.")
    var sam: String?

    @Option(help: "YAML file with method options (see --print-config for every key).")
    var config: String?

    @Flag(help: "Print the effective configuration as YAML and exit.")
    var printConfig = false

    @Flag(help: "List for every photo what would run and why, and run nothing.")
    var dryRun = false

    @Flag(help: "Run only the last step of each photo (merge its masks into detections and pictures) and the batch outputs, from the artifacts already in OUT; loads no model (make run's last rule).")
    var merge = false

    @Flag(help: "Only remove the temporary files that killed runs left in OUT (those whose process is gone), and exit. Every run does this first; make run calls it on its own.")
    var removeLeftovers = false

    @Option(help: ArgumentHelp("Process only shard I of N: every photo whose position in the sorted list is I-1 modulo N. Shards write no batch files; `--merge` over all photos writes them afterwards.", valueName: "I/N"))
    var shard: String?

    @Option(help: "Photos processed at once (they share the cores).")
    var jobs = 1

    @Flag(help: "With --categories: score the batch's masks against that file's annotations as vlsam-eval does (COCO segm, the photos it holds): OUT/metrics.json, the report and the summary.")
    var eval = false

    @OptionGroup var method: MethodOptions
    @OptionGroup var shared: SharedOptions

    /// `--shard I/N` as (I, N), 1 ≤ I ≤ N.
    func shardNumbers() throws -> (Int, Int) {
        let parts = (shard ?? "").split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, (1...parts[1]).contains(parts[0]) else {
            throw ValidationError("--shard \(shard ?? ""): expected I/N with 1 ≤ I ≤ N, e.g. 2/3")
        }
        return (parts[0], parts[1])
    }

    func validate() throws {
        if removeLeftovers {
            guard images == nil, list == nil, !merge, !dryRun, shard == nil else { throw ValidationError("--remove-leftovers takes only --out") }
            return
        }
        guard (images == nil) != (list == nil) else { throw ValidationError("give exactly one of --images DIR and --list FILE") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        if eval && method.categories == nil { throw ValidationError("--eval needs --categories instances.json: its annotations are the ground truth") }
        if eval && shard != nil { throw ValidationError("--eval scores the whole batch: give it to the --merge run, not to a --shard") }
        if shard != nil { _ = try shardNumbers() }
        if shard != nil && merge { throw ValidationError("--merge gathers every shard's photos: give it without --shard") }
    }

    func run() throws {
        shared.apply()
        var failed = false
        try runStage("vlsam-run") {
            if removeLeftovers {
                let removed = LeftoverFiles.removeAll(in: OutputLayout(root: out))
                report("vlsam-run: \(out): removed \(removed.count) temporary files of runs that are gone")
                return
            }
            var configuration = try config.map { try RunConfiguration.load(yamlFile: $0) } ?? RunConfiguration()
            let categories = try method.apply(to: &configuration)
            if let maxPixels = shared.maxPixels { configuration.maxPixels = maxPixels }
            setDecodePixelLimit(configuration.maxPixels)
            if printConfig {
                print(try configuration.yaml(), terminator: "")
                return
            }
            // Named over the whole batch, so that every shard gives a photo the same folder.
            var photos = try BatchPhoto.batch(try images.map { try photoFiles(in: $0) } ?? readListFile(list!))
            if shard != nil {
                let (index, count) = try shardNumbers()
                photos = photos.sorted { $0.path < $1.path }.enumerated().filter { $0.offset % count == index - 1 }.map(\.element)
            }
            guard !photos.isEmpty else { throw StageError(images ?? list!, "holds no photos (.jpg, .jpeg, .png)") }
            let start = Date()
            var warnings: [String] = []
            var loaded: PhotoPipeline.Models?
            if !merge {
                let models = try ModelChoice(vlm: vlm, sam: sam)
                warnings = models.warnings
                for warning in warnings { report("vlsam-run: WARNING: \(warning)") }
                loaded = PhotoPipeline.Models(vlm: try models.loadVLM(), sam: try models.loadSAM())
                report(String(format: "vlsam-run: models loaded in %.1f s", Date().timeIntervalSince(start)))
            }
            let pipeline = PhotoPipeline(layout: OutputLayout(root: out), configuration: configuration, models: loaded)
            let batch = BatchRun(pipeline: pipeline, photos: photos, jobs: jobs, batchOutputs: shard == nil, categories: categories?.map,
                                 imageIDs: categories?.imageIDs ?? [:], evaluationGroundTruth: eval ? method.categories : nil)
            if dryRun {
                print(planText(batch.plan()), terminator: "")
                return
            }
            let summary = try batch.run()
            print(summaryText(summary, seconds: Date().timeIntervalSince(start)), terminator: "")
            for warning in warnings { report("vlsam-run: WARNING: \(warning)") }
            failed = summary.failed > 0
        }
        if failed { throw ExitCode.failure }
    }
}

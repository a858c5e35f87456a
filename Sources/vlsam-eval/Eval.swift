import ArgumentParser
import COCOEvaluation
import StageCommandLine
import TensorMath

@main
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlsam-eval",
        abstract: "COCO evaluation of a results file against COCO ground truth: the numbers pycocotools' COCOeval gives.",
        discussion: """
        Prints COCOeval.summarize()'s twelve lines (AP at IoU 0.50:0.95, 0.50, 0.75, for small, medium and large \
        objects; AR at 1, 10 and 100 detections and per area) and a table per category; --output writes them all \
        as JSON (README, "vlsam-eval"). Results are read as pycocotools' loadRes reads them.
          vlsam-eval --gt instances.json --results detections.json
          vlsam-eval --gt instances.json --results detections.json --iou-type bbox --output metrics.json
        """)

    @Option(name: .customLong("gt"), help: "COCO instances JSON: images, annotations, categories.")
    var groundTruth: String

    @Option(help: "COCO results JSON: an array of {image_id, category_id, segmentation and/or bbox, score}.")
    var results: String

    @Option(help: "segm (compare masks) or bbox (compare boxes).")
    var iouType: IoUType = .segm

    @Option(help: "Also write the metrics as JSON here.")
    var output: String?

    @Flag(help: "Print only the twelve summary lines, not the per-category table.")
    var summaryOnly = false

    // Not SharedOptions: its limits are about photos and HDF5 artifacts, which this never reads.
    @Option(help: "Threads evaluating images in parallel (default: all cores; the numbers do not depend on it).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        if let threads { setComputeThreads(threads) }
        try runStage("vlsam-eval") {
            let metrics = try COCOEvaluator.evaluate(groundTruthPath: groundTruth, resultsPath: results, iouType: iouType)
            print("Evaluate annotation type *\(iouType.rawValue)*")
            metrics.summaryLines.forEach { print($0) }
            if !summaryOnly {
                print("")
                metrics.categoryTableLines.forEach { print($0) }
            }
            if let output { try metrics.write(to: output) }
        }
    }
}

extension IoUType: ExpressibleByArgument {}

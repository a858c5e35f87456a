import ArgumentParser
import Foundation
import Pipeline
import StageCommandLine
import VLSAMMethod

@main
struct Points: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlsam-points",
        abstract: "Sample SAM point prompts from attention maps: a vlsam.attention artifact in, a vlsam.prompts artifact out (one set per object).",
        discussion: """
        Each object's map is resized to the photo and sampled (../shared/docs/vl-sam-method.md section 8). \
        An object whose map has no pixel at or above the threshold gets an empty set, flagged not localised; \
        vlsam-decode skips it. With --previous-masks it is a refinement step (section 9): points inside the \
        mask each object kept, a negative point outside it, and for SAM checkpoints the kept mask's logits \
        as mask input.
          vlsam-points --attention truck.attention.h5 --output truck.prompts.h5 --png-dir png/
          vlsam-points --attention truck.attention.h5 --previous-masks truck.masks.h5 --output truck.prompts.1.h5
        """)

    @Option(help: "vlsam.attention artifact from vlsam-attend.")
    var attention: String

    @Option(help: "Output vlsam.prompts artifact.")
    var output: String

    @Option(help: "vl-sam (the paper's), local-maxima, kmeans or random.")
    var strategy = PointsStage.Options().strategy

    @Option(help: "tau: pixels with map value >= tau are candidates; in (0, 1].")
    var threshold = PointsStage.Options().threshold

    @Option(name: .customLong("points"), help: "k: points per kind for local-maxima, kmeans and random.")
    var count = PointsStage.Options().points

    @Option(help: "Seed of kmeans and random (recorded in the artifact).")
    var seed = PointsStage.Options().seed

    @Option(help: "The previous iteration's vlsam.masks artifact: sample a refinement step from the masks kept there.")
    var previousMasks: String?

    @Flag(help: "Refinement: also prompt with the bounding box of the kept mask (no effect without --previous-masks).")
    var boxFromMask = false

    @Option(help: "Also write one PNG per object (map and points) into this directory.")
    var pngDir: String?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        guard threshold > 0 && threshold <= 1 else { throw ValidationError("--threshold \(threshold) is outside (0, 1]") }
        guard count >= 1 else { throw ValidationError("--points must be at least 1") }
    }

    func run() throws {
        shared.apply()
        var options = PointsStage.Options()
        options.strategy = strategy
        options.threshold = threshold
        options.points = count
        options.seed = seed
        options.boxFromMask = boxFromMask
        try runStage("vlsam-points") {
            let result = try PointsStage().run(attention: attention, previousMasks: previousMasks, output: output,
                                               options: options, pngDirectory: pngDir)
            let empty = result.sets.filter { !$0.localised }.map(\.name)
            report("\(output): iteration \(result.origin?.refinementIteration ?? 0), \(result.sets.count) prompt sets, " +
                   "\(result.sets.reduce(0) { $0 + $1.points.count }) points" +
                   (empty.isEmpty ? "" : "; not localised: \(empty.joined(separator: ", "))"))
        }
    }
}

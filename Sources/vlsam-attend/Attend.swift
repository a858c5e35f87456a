import ArgumentParser
import Foundation
import Pipeline
import StageCommandLine
import VLSAMMethod

@main
struct Attend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlsam-attend",
        abstract: "Turn the VLM's own attention into a map per listed object: a vlsam.objects artifact in, a vlsam.attention artifact out.",
        discussion: """
        One teacher-forced forward of the language model over the listing's prompt and answer gives every \
        layer's attention; head weights, attention flow, regularisation and the token-to-image layout make \
        one map per object (docs: ../shared/docs/vl-sam-method.md sections 1-7). The photo is the one the \
        objects artifact names; it must be unchanged. MODEL must be the listing's model.
          vlsam-attend --model weights/SmolVLM-256M-Instruct --objects truck.objects.h5 --output truck.attention.h5
          vlsam-attend ... --flow mean --alpha 0.5 --query token --png-dir png/
        """)

    @Option(help: "SmolVLM model directory (the one that made the objects artifact).")
    var model: String

    @Option(help: "vlsam.objects artifact from vlsam-list.")
    var objects: String

    @Option(help: "Output vlsam.attention artifact.")
    var output: String

    @Option(help: "Attention flow through the layers: rollout or mean.")
    var flow = AttendStage.Options().flow

    @Option(help: "Residual share alpha of each layer's flow, in [0, 1).")
    var alpha = AttendStage.Options().alpha

    @Option(help: "Regularisation against causal collapse: column or none.")
    var regularization = AttendStage.Options().regularization

    @Option(help: "Query rows of an object: both, predicting or token.")
    var query = AttendStage.Options().query

    @Option(help: "Tiles that make the map of a split image: both, local or global.")
    var tiles = AttendStage.Options().tiles

    @Option(help: "Also write one heat-map overlay PNG per object into this directory.")
    var pngDir: String?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        guard alpha >= 0 && alpha < 1 else { throw ValidationError("--alpha \(alpha) is outside [0, 1)") }
    }

    func run() throws {
        shared.apply()
        var options = AttendStage.Options()
        options.flow = flow
        options.alpha = alpha
        options.regularization = regularization
        options.query = query
        options.tiles = tiles
        try runStage("vlsam-attend") {
            let stage = try AttendStage(modelDirectory: model)
            let result = try stage.run(objects: objects, output: output, options: options, pngDirectory: pngDir) {
                report("vlsam-attend: \($0)")
            }
            report("\(output): maps of \(result.mapSize) for \(result.objects.count) objects: " +
                   result.objects.map(\.name).joined(separator: ", "))
        }
    }
}

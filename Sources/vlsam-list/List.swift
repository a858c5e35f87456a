import ArgumentParser
import Foundation
import Pipeline
import StageCommandLine
import TensorMath

@main
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlsam-list",
        abstract: "Ask a SmolVLM model which objects a photo shows; write the answer, its object list and token geometry as a vlsam.objects artifact.",
        discussion: """
        MODEL is a Hugging Face SmolVLM folder: config.json, model.safetensors (or a sharded index), \
        tokenizer.json, chat_template.json or tokenizer_config.json, preprocessor_config.json.
          vlsam-list --model weights/SmolVLM-256M-Instruct --output truck.objects.h5 truck.jpg
        Open-vocabulary mode skips generation and teacher-forces the given names as the answer:
          vlsam-list --model DIR --output truck.objects.h5 truck.jpg --objects "truck, wheel, window"
        """)

    @Option(help: "SmolVLM model directory.")
    var model: String

    @Option(help: "Output vlsam.objects artifact.")
    var output: String

    @Flag(help: "Do not split the image into 512-pixel tiles (one squashed 512x512 view only).")
    var noSplit = false

    @Option(help: "Longest answer in tokens.")
    var maxNewTokens = 64

    @Option(help: "The question asked with the image.")
    var prompt = ListStage.Options().prompt

    @Option(help: "Comma-separated object names to teacher-force instead of generating.")
    var objects: String?

    @OptionGroup var shared: SharedOptions

    @Argument(help: "JPEG or PNG photo.")
    var image: String

    func run() throws {
        shared.apply()
        var options = ListStage.Options()
        options.prompt = prompt
        options.maxNewTokens = maxNewTokens
        if noSplit { options.imageSplitting = false }
        if let objects {
            let names = objects.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw ValidationError("--objects needs at least one name") }
            options.objects = names
        }
        try runStage("vlsam-list") {
            let stage = try ListStage(modelDirectory: model)
            let result = try stage.run(image: image, output: output, options: options) { report("vlsam-list: \($0)") }
            report("\(output): \(result.objects.count) objects: \(result.objects.map(\.name).joined(separator: ", "))")
        }
    }
}

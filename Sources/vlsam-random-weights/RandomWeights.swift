import ArgumentParser
import Artifacts
import Checkpoints
import Foundation
import Pipeline
import VLMModels

@main
struct RandomWeights: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlsam-random-weights",
        abstract: "Write architecture-exact random SmolVLM weights for a config.json (for benchmarks; the model knows nothing).",
        discussion: """
        The output directory becomes a loadable model folder: model.safetensors with every tensor of the \
        real checkpoint (names and shapes from the config), plus copies of the config, tokenizer and \
        processor files found beside CONFIG.
          vlsam-random-weights --config ../shared/models/smolvlm-256m-instruct/config.json --output models/smolvlm-256m-random
        """)

    @Option(help: "An Idefics3/SmolVLM config.json.")
    var config: String

    @Option(help: "Output model directory.")
    var output: String

    @Option(help: "Seed of the random values.")
    var seed: UInt64 = 0

    @Option(help: "Storage type: bf16 (half the size, like the real checkpoints) or f32.")
    var dtype: String = "bf16"

    func run() throws {
        guard let storage = SafetensorsDType(rawValue: dtype == "bf16" ? "BF16" : dtype == "f32" ? "F32" : dtype) else {
            throw ValidationError("--dtype must be bf16 or f32")
        }
        do {
            let parsed = try SmolVLMConfig(contentsOf: config)
            let shapes = parsed.parameterShapes()
            let source = (config as NSString).deletingLastPathComponent
            // Its files are copied into the output folder: the same folder would lose them.
            try requireOutput(output, differentFrom: [("folder of the config", source.isEmpty ? "." : source)])
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            for file in try FileManager.default.contentsOfDirectory(atPath: source)
            where file.hasSuffix(".json") && !file.hasPrefix("model.safetensors") && file != "tensor_shapes.json" {
                let target = (output as NSString).appendingPathComponent(file)
                try? FileManager.default.removeItem(atPath: target)
                try FileManager.default.copyItem(atPath: (source as NSString).appendingPathComponent(file), toPath: target)
            }
            let tensors = randomParameters(shapes, seed: seed)
            let path = (output as NSString).appendingPathComponent("model.safetensors")
            try writeSafetensors(tensors, dtype: storage, to: path)
            // Artifacts made from this folder record random_weights = 1 (Provenance.isRandomWeights).
            try Data("Random weights from vlsam-random-weights (seed \(seed)): anything made with them means nothing.\n".utf8)
                .write(to: URL(fileURLWithPath: (output as NSString).appendingPathComponent(Provenance.randomWeightsMarker)))
            let parameters = shapes.reduce(0) { $0 + $1.shape.reduce(1, *) }
            FileHandle.standardError.write(Data("\(path): \(shapes.count) tensors, \(parameters) parameters (\(dtype), seed \(seed))\n".utf8))
        } catch {
            FileHandle.standardError.write(Data("vlsam-random-weights: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

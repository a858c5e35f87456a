import Checkpoints
import Foundation
import TensorMath
import TestSupport
import VLMModels
import XCTest

/// Loading a VLM is strict: every tensor its configuration implies, with its shape, and nothing
/// else, so a layer beyond the configured count or a renamed tensor is an error naming it.
final class StrictLoadingTests: XCTestCase {
    /// The tiny LLaMA GGUF loads; copies with a tensor renamed, one layer too many, or a
    /// rope_freqs tensor the decoder would ignore are refused naming the tensor.
    func testCorpusGGUFs() throws {
        for item in try BadCheckpoint.corpus(loader: "gguf-llama") { item.check(GGUFLanguageModel.init(path:)) }
    }

    /// A two-layer SmolVLM (vision and text) from its config.json, with every parameter the
    /// configuration implies.
    private func tinyModel() throws -> (config: SmolVLMConfig, tensors: [(name: String, tensor: Tensor)]) {
        let config = """
        {"vision_config": {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32,
                           "patch_size": 16, "image_size": 64},
         "text_config": {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
                         "intermediate_size": 32, "vocab_size": 40},
         "scale_factor": 2, "image_token_id": 39}
        """
        let path = scratchDirectory() + "/config.json"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let parsed = try SmolVLMConfig(contentsOf: path)
        return (parsed, randomParameters(parsed.parameterShapes(), seed: 3))
    }

    private let source = "tiny/model.safetensors"

    private func load(_ config: SmolVLMConfig, _ tensors: [(name: String, tensor: Tensor)]) throws -> SmolVLM {
        try SmolVLM(config: config, stateDict: StateDict(source: source, entries: tensors))
    }

    func testSmolVLMNeedsExactlyItsParameters() throws {
        let (config, tensors) = try tinyModel()
        XCTAssertNoThrow(try load(config, tensors))

        let renamed = "model.text_model.layers.1.self_attn.k_proj.weight"
        var edited = tensors
        edited[edited.firstIndex { $0.name == renamed }!].name = "model.text_model.layers.1.self_attn.key_proj.weight"
        assertRefusal(try load(config, edited), path: source, kind: .missingTensor, tensor: renamed)

        let extraLayer = "model.text_model.layers.2.input_layernorm.weight"
        assertRefusal(try load(config, tensors + [(extraLayer, Tensor(zeros: [16]))]), path: source, kind: .unexpectedTensor,
                      tensor: extraLayer, mentioning: ["2 vision and 2 text layers"])
        let extraVisionLayer = "model.vision_model.encoder.layers.2.mlp.fc1.weight"
        assertRefusal(try load(config, tensors + [(extraVisionLayer, Tensor(zeros: [32, 16]))]), path: source,
                      kind: .unexpectedTensor, tensor: extraVisionLayer)

        let missing = "model.vision_model.encoder.layers.1.layer_norm2.bias"
        assertRefusal(try load(config, tensors.filter { $0.name != missing }), path: source, kind: .missingTensor, tensor: missing)

        let reshaped = "model.vision_model.post_layernorm.weight"
        edited = tensors
        edited[edited.firstIndex { $0.name == reshaped }!].tensor = Tensor(zeros: [17])
        assertRefusal(try load(config, edited), path: source, kind: .wrongShape, tensor: reshaped)
    }

    /// Sharded weights load as one state dict; a tensor stored in two shards, or a shard named
    /// by a path outside the folder, is refused naming the index.
    func testShardedWeights() throws {
        let (_, tensors) = try tinyModel()
        let dir = scratchDirectory()
        let half = tensors.count / 2
        try writeSafetensors(Array(tensors[..<half]), dtype: .float32, to: dir + "/model-1.safetensors")
        try writeSafetensors(Array(tensors[(half - 1)...]), dtype: .float32, to: dir + "/model-2.safetensors")
        let index = dir + "/model.safetensors.index.json"
        func writeIndex(_ shards: [String: String]) throws {
            try JSONSerialization.data(withJSONObject: ["weight_map": shards]).write(to: URL(fileURLWithPath: index))
        }
        let doubled = tensors[half - 1].name
        try writeIndex(Dictionary(uniqueKeysWithValues: tensors.indices.map { (tensors[$0].name, $0 < half ? "model-1.safetensors" : "model-2.safetensors") }))
        assertRefusal(try loadHuggingFaceWeights(directory: dir), path: index, kind: .malformed, tensor: doubled,
                      mentioning: ["model-1.safetensors and model-2.safetensors"])

        try writeSafetensors(Array(tensors[half...]), dtype: .float32, to: dir + "/model-2.safetensors")
        let loaded = try loadHuggingFaceWeights(directory: dir)
        XCTAssertEqual(Set(loaded.keys), Set(tensors.map(\.name)))
        try writeIndex([tensors[0].name: "../model-1.safetensors"])
        assertRefusal(try loadHuggingFaceWeights(directory: dir), path: index, kind: .malformed, tensor: nil,
                      mentioning: ["'../model-1.safetensors' is not a file name"])
    }
}

import Checkpoints
import Foundation
import Imaging
import Tokenizers
import VLMModels

/// SmolVLM-256M with architecture-exact random weights.
func runSmolVLMBench(config: String, modelDirectory: String, image: String, decodeTokens: Int) throws {
    let weights = (modelDirectory as NSString).appendingPathComponent("model.safetensors")
    if !FileManager.default.fileExists(atPath: weights) {
        // Random weights are as fast as trained ones; made once and kept for later runs.
        try FileManager.default.createDirectory(atPath: modelDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: config, toPath: (modelDirectory as NSString).appendingPathComponent("config.json"))
        try writeSafetensors(randomParameters(try SmolVLMConfig(contentsOf: config).parameterShapes(), seed: 0),
                             dtype: .bfloat16, to: weights)
    }
    let sourceFolder = (config as NSString).deletingLastPathComponent
    let model = try SmolVLM(directory: modelDirectory)
    let tokenizer = try BPETokenizer(tokenizerJSON: (sourceFolder as NSString).appendingPathComponent("tokenizer.json"))
    let template = try ChatTemplate(jsonFile: (sourceFolder as NSString).appendingPathComponent("chat_template.json"))
    var processor = try Idefics3ImageProcessor(
        configPath: (sourceFolder as NSString).appendingPathComponent("preprocessor_config.json"),
        processorConfigPath: (sourceFolder as NSString).appendingPathComponent("processor_config.json"))
    let photo = try decodeImage(atPath: image)
    let prompt = try template.render([ChatMessage(role: "user", content: [.image, .text("List all the objects in this image.")])],
                                     addGenerationPrompt: true)

    for split in [false, true] {
        processor.doImageSplitting = split
        var prefill = Double.infinity, decodeRate = 0.0, tiles = 0, tokens = 0
        for _ in 0..<2 {
            // Prefill: image processing, vision tower, connector and the prompt through the decoder.
            var ids: [Int] = []
            let prefillTime = measure {
                let processed = try! processor.process(photo)
                tiles = processed.tileCount
                ids = tokenizer.encode(try! expandImageTokens(in: prompt, rows: processed.rows, cols: processed.cols))
                _ = try! model.generate(ids: ids, tiles: processed.tiles, maxNewTokens: 1, stopTokens: [])
            }.wall
            tokens = ids.count
            prefill = min(prefill, prefillTime)
            if !split {
                let embeddings = model.decoder.embed(ids)
                let full = measure { _ = model.decoder.generate(embeddings: embeddings, maxNewTokens: decodeTokens + 1, stopTokens: []) }
                let promptOnly = measure { _ = model.decoder.generate(embeddings: embeddings, maxNewTokens: 1, stopTokens: []) }
                decodeRate = max(decodeRate, Double(decodeTokens) / max(full.wall - promptOnly.wall, 1e-9))
            }
        }
        print(String(format: "SmolVLM-256M prefill, splitting %@ (%d tiles, %d prompt tokens): %.2f s",
                     split ? "on " : "off", tiles, tokens, prefill))
        if !split { print(String(format: "SmolVLM-256M decode: %.1f tokens/s", decodeRate)) }
    }
    print(String(format: "peak RSS after SmolVLM-256M: %.0f MB", peakRSSMegabytes()))
}

/// The real SmolLM2-135M GGUF, computing on its quantised blocks.
func runGGUFBench(path gguf: String, decodeTokens: Int) throws {
    guard FileManager.default.fileExists(atPath: gguf) else {
        print("SmolLM2-135M GGUF decode: skipped, \(gguf) is absent (run `make fetch-smollm2`)")
        return
    }
    let lm = try GGUFLanguageModel(path: gguf)
    let ids = try lm.promptIDs("What objects are usually on a desk?")
    var best = 0.0
    for _ in 0..<2 {
        let full = measure { _ = lm.decoder.greedy(promptIDs: ids, maxNewTokens: decodeTokens + 1, stopTokens: []) }
        let promptOnly = measure { _ = lm.decoder.greedy(promptIDs: ids, maxNewTokens: 1, stopTokens: []) }
        best = max(best, Double(decodeTokens) / max(full.wall - promptOnly.wall, 1e-9))
    }
    print(String(format: "SmolLM2-135M GGUF (Q4_1/Q8_0) decode: %.1f tokens/s", best))
}

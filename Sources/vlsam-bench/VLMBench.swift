import Artifacts
import Checkpoints
import Foundation
import Imaging
import Tokenizers
import VLMModels

/// SmolVLM-256M with architecture-exact random weights, made on first use and kept.
func randomSmolVLM(config: String, modelDirectory: String) throws -> SmolVLMBundle {
    let weights = (modelDirectory as NSString).appendingPathComponent("model.safetensors")
    if !FileManager.default.fileExists(atPath: weights) {
        // Random weights are as fast as trained ones; made once and kept for later runs.
        try FileManager.default.createDirectory(atPath: modelDirectory, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: (modelDirectory as NSString).appendingPathComponent("config.json"))
        try FileManager.default.copyItem(atPath: config, toPath: (modelDirectory as NSString).appendingPathComponent("config.json"))
        try writeSafetensors(randomParameters(try SmolVLMConfig(contentsOf: config).parameterShapes(), seed: 0),
                             dtype: .bfloat16, to: weights)
    }
    try Data("Random weights made by vlsam-bench: anything made with them means nothing.\n".utf8)
        .write(to: URL(fileURLWithPath: (modelDirectory as NSString).appendingPathComponent(Provenance.randomWeightsMarker)))
    // The tokenizer, template and processor files come from the config's folder, copied beside the weights.
    let sourceFolder = (config as NSString).deletingLastPathComponent
    for file in ["tokenizer.json", "chat_template.json", "preprocessor_config.json", "processor_config.json", "generation_config.json"] {
        let source = (sourceFolder as NSString).appendingPathComponent(file)
        let copy = (modelDirectory as NSString).appendingPathComponent(file)
        if FileManager.default.fileExists(atPath: source) && !FileManager.default.fileExists(atPath: copy) {
            try FileManager.default.copyItem(atPath: source, toPath: copy)
        }
    }
    return try SmolVLMBundle(directory: modelDirectory)
}

/// The listing's prefill: image processing, vision tower, connector and the prompt through the
/// decoder (best of two).
func measurePrefill(_ bundle: SmolVLMBundle, photo: RGBImage, splitting: Bool) throws -> (seconds: Double, ids: [Int], tiles: Int) {
    var best = Double.infinity, ids: [Int] = [], tiles = 0
    for _ in 0..<2 {
        let time = measure {
            let prompt = try! bundle.prompt("List all the objects in this image.", image: photo, splitting: splitting)
            tiles = prompt.image.tileCount
            ids = prompt.ids
            _ = try! bundle.model.generate(ids: ids, tiles: prompt.image.tiles, maxNewTokens: 1, stopTokens: [])
        }.wall
        best = min(best, time)
    }
    return (best, ids, tiles)
}

func runSmolVLMBench(bundle: SmolVLMBundle, image: String, decodeTokens: Int) throws {
    let model = bundle.model
    let photo = try decodeImage(atPath: image)
    for split in [false, true] {
        let (prefill, ids, tiles) = try measurePrefill(bundle, photo: photo, splitting: split)
        let tokens = ids.count
        var decodeRate = 0.0
        for _ in 0..<2 {
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

/// The real SmolLM2-135M GGUF on its quantised blocks, measured as llama.cpp's llama-bench
/// measures: prefill of 512 tokens into an empty cache (its pp512) and decode of 128 tokens one
/// at a time from an empty cache, logits included (its tg128); each the mean rate of
/// `repetitions` runs after a warm-up. Prompt tokens are arbitrary: speed does not depend on them.
func runGGUFBench(path gguf: String, repetitions: Int) throws {
    guard FileManager.default.fileExists(atPath: gguf) else {
        print("SmolLM2-135M GGUF: skipped, \(gguf) is absent (run `make fetch-smollm2`)")
        return
    }
    let decoder = try GGUFLanguageModel(path: gguf).decoder
    let promptLength = 512, generated = 128
    let ids = (0..<promptLength).map { ($0 * 7919 + 11) % decoder.config.vocabSize }
    /// The mean rate over the runs (after a warm-up), and the mean CPU seconds per token (all
    /// threads; on a shared machine it shows how much of a slow rate was other people's load).
    func rates(_ tokens: Int, _ run: () -> (wall: Double, cpu: Double)) -> (rate: Double, cpuPerToken: Double) {
        _ = run()
        let runs = (0..<max(repetitions, 1)).map { _ in run() }
        return (runs.map { Double(tokens) / max($0.wall, 1e-9) }.reduce(0, +) / Double(runs.count),
                runs.map(\.cpu).reduce(0, +) / Double(runs.count * tokens))
    }
    let prefill = rates(promptLength) {
        measure {
            let hidden = decoder.forward(decoder.embed(ids), cache: decoder.makeCache(reserve: promptLength))
            _ = decoder.logits(hidden[promptLength - 1])
        }
    }
    // generate's first token comes from the one-token prompt; the 128 after it are the decode.
    let start = decoder.embed([ids[0]])
    let decode = rates(generated) {
        let full = measure { _ = decoder.generate(embeddings: start, maxNewTokens: generated + 1, stopTokens: []) }
        let promptOnly = measure { _ = decoder.generate(embeddings: start, maxNewTokens: 1, stopTokens: []) }
        return (full.wall - promptOnly.wall, full.cpu - promptOnly.cpu)
    }
    print(String(format: "SmolLM2-135M GGUF (Q4_1/Q8_0) prefill, 512 tokens (as llama-bench pp512): %.1f tokens/s  (cpu %.2f ms per token)",
                 prefill.rate, 1000 * prefill.cpuPerToken))
    print(String(format: "SmolLM2-135M GGUF (Q4_1/Q8_0) decode, 128 tokens from an empty cache (as llama-bench tg128): %.1f tokens/s  (cpu %.2f ms per token)",
                 decode.rate, 1000 * decode.cpuPerToken))
    print(String(format: "peak RSS after SmolLM2-135M GGUF: %.0f MB", peakRSSMegabytes()))
}

import ArgumentParser
import CBLAS
import Checkpoints
import Foundation
import Geometry
import Imaging
import SAMModels
import TensorMath

/// Measures the figures the README reports. Not part of the test suite.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlsam-bench",
        abstract: "Benchmark the FMA peak, sgemm, the SAM-family image encoder and the mask decoder on this machine.",
        discussion: """
        Weights may be random: speed does not depend on their values. By default the EfficientSAM \
        ViT-T parity checkpoint (architecture-exact, random) and the 1800x1200 truck photo from \
        ../shared are used. CPU times (all threads) are printed beside wall times: on a shared \
        machine they show how much of a slow wall time was other people's load.
        """)

    @Option(help: "SAM or EfficientSAM checkpoint (.pt/.pth/.safetensors).")
    var checkpoint = "../shared/parity/efficientsam-vitt/weights.pt"

    @Option(help: "Photo to encode.")
    var image = "../shared/data/samples/truck.jpg"

    @Option(help: "Encoder runs to time (the best is reported).")
    var encoderRuns = 3

    @Option(help: "Prompt sets to decode.")
    var prompts = 20

    @Option(help: "Compute threads (default: all cores).")
    var threads: Int?

    @Option(help: "SmolVLM config.json whose architecture is benchmarked with random weights.")
    var vlmConfig = "../shared/models/smolvlm-256m-instruct/config.json"

    @Option(help: "Where the random SmolVLM weights are made on first use and kept.")
    var vlmModel = "artifacts/bench/smolvlm-256m-random"

    @Option(help: "The real SmolLM2-135M GGUF (make fetch-smollm2).")
    var gguf = "downloads/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(help: "Tokens generated when measuring SmolVLM's decode speed.")
    var decodeTokens = 32

    @Option(help: "Runs of the GGUF prefill and decode whose mean rate is printed (as llama-bench's -r).")
    var repetitions = 5

    enum Part: String, ExpressibleByArgument, CaseIterable {
        case sam, smolvlm, vlsam, driver, gguf
    }

    @Option(help: "Measure only this part: sam (FMA peak, sgemm, encoder, decoder), smolvlm, vlsam (attention and points), driver (vlsam-run on 12 photos) or gguf. Repeatable; default all.")
    var only: [Part] = []

    mutating func run() throws {
        if let threads { setComputeThreads(threads) }
        print("vlsam-bench  (compute threads: \(computeThreads()), cores: \(ProcessInfo.processInfo.activeProcessorCount))")
        let parts = only.isEmpty ? Part.allCases : only
        if parts.contains(.sam) { try runSAMBench() }
        if parts.contains(.smolvlm) || parts.contains(.vlsam) || parts.contains(.driver) {
            let bundle = try randomSmolVLM(config: vlmConfig, modelDirectory: vlmModel)
            if parts.contains(.smolvlm) { try runSmolVLMBench(bundle: bundle, image: image, decodeTokens: decodeTokens) }
            if parts.contains(.vlsam) { try runVLSAMBench(bundle: bundle, image: image, workDirectory: vlmModel + "-vlsam") }
            if parts.contains(.driver) {
                try runDriverBench(bundle: bundle, checkpoint: checkpoint, image: image, workDirectory: vlmModel + "-driver")
            }
        }
        if parts.contains(.gguf) { try runGGUFBench(path: gguf, repetitions: repetitions) }
    }

    /// The FMA peak and sgemm, then the SAM-family encoder and decoder against them.
    func runSAMBench() throws {
        let fmaPeak = measureFMAPeak()
        print(String(format: "FMA peak:                      %7.1f GFLOP/s  (register-only loop of independent FMAs on %d threads)",
                     fmaPeak, computeThreads()))
        let peak = measureSGEMM(seconds: 0)
        print(String(format: "sgemm 2048x2048x2048 peak:     %7.1f GFLOP/s  (fastest single product; OpenBLAS on %d threads %.1f, TensorMath gemm %.1f; %.0f%% of the FMA peak)",
                     peak.best, computeThreads(), peak.openBLAS, peak.tensorMath, 100 * peak.best / fmaPeak))

        let start = Date()
        let model = try SegmentAnythingModel(checkpoint: checkpoint)
        print(String(format: "load %@: %.2f s", model.name, Date().timeIntervalSince(start)))
        let photo = try decodeImage(atPath: image)

        // Each round measures sgemm sustained over about as long as an encoder run, then the
        // encoder: on a shared machine both see the same conditions, which a 0.1 s peak does not.
        let flops = encoderFLOPs(model.encoder.config)
        var best = (wall: Double.infinity, cpu: Double.infinity), ratios: [Double] = []
        var encoded: (embedding: Tensor, geometry: ImageGeometry)?
        for round in 1...max(encoderRuns, 1) {
            let sustained = measureSGEMM(seconds: 1.5)
            let time = measure { encoded = model.encode(photo) }
            if time.wall < best.wall { best = time }
            ratios.append(flops / time.wall / 1e9 / sustained.best)
            print(String(format: "  round %d: sgemm sustained %.1f GFLOP/s, encoder %.3f s = %.1f GFLOP/s = %.0f%% of it",
                         round, sustained.best, time.wall, flops / time.wall / 1e9, 100 * ratios.last!))
        }
        print(String(format: "encoder %@ on %dx%d:  %7.3f s  (%.1f GFLOP, %.1f GFLOP/s effective = %.0f%% of the FMA peak; median %.0f%% of the sustained sgemm rate, %.0f%% of the sgemm peak; cpu %.2f s)",
                     model.name, photo.width, photo.height, best.wall, flops / 1e9, flops / best.wall / 1e9,
                     100 * flops / best.wall / 1e9 / fmaPeak, 100 * ratios.sorted()[ratios.count / 2],
                     100 * flops / best.wall / 1e9 / peak.best, best.cpu))

        let (embedding, geometry) = encoded!
        var prepared: PreparedEmbedding?
        let preparation = measure { prepared = model.prepare(embedding: embedding, geometry: geometry) }
        print(String(format: "decoder preparation (once per image): %.1f ms", 1000 * preparation.wall))
        let promptSets = (0..<max(prompts, 1)).map { i in
            PromptSet(points: [PixelPoint(x: Float(100 + (i * 137) % (photo.width - 200)), y: Float(100 + (i * 71) % (photo.height - 200)))],
                      labels: [1])
        }
        var predictions: [(wall: Double, cpu: Double)] = [], decodes: [Double] = []
        for prompt in promptSets {
            predictions.append(measure { _ = model.predict(prepared!, prompt: prompt, multimask: true) })
            let input = model.modelInput(for: prompt, geometry: geometry)
            decodes.append(measure { _ = model.decode(prepared!, prompt: input, multimask: true) }.wall)
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        print(String(format: "decoder, one prompt set at a time (3 masks at %dx%d): median %.1f ms, min %.1f ms  (low-res decode %.1f ms; cpu %.1f ms)",
                     photo.width, photo.height, 1000 * median(predictions.map(\.wall)),
                     1000 * predictions.map(\.wall).min()!, 1000 * median(decodes), 1000 * median(predictions.map(\.cpu))))
        var batches: [(wall: Double, cpu: Double)] = []
        for _ in 0..<3 { batches.append(measure { _ = model.predict(prepared!, prompts: promptSets, multimask: true) }) }
        let batch = batches.min { $0.wall < $1.wall }!
        print(String(format: "decoder, %d prompt sets decoded together: %.1f ms per prompt set  (best of 3; cpu %.1f ms per set)",
                     promptSets.count, 1000 * batch.wall / Double(promptSets.count), 1000 * batch.cpu / Double(promptSets.count)))
        print(String(format: "peak RSS: %.0f MB", peakRSSMegabytes()))
    }

    /// The sgemm rate of OpenBLAS's own threading and of TensorMath's `gemm` (OpenBLAS
    /// single-threaded on each of its threads), and the faster, which the encoder is compared with:
    /// the fastest of five products when `seconds` is 0, else the rate over back-to-back products
    /// for about `seconds` (half each).
    func measureSGEMM(n: Int = 2048, seconds: Double) -> (best: Double, openBLAS: Double, tensorMath: Double) {
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        let flops = 2 * Double(n) * Double(n) * Double(n)
        let rate = { (product: (UnsafeMutablePointer<Float>) -> Void) -> Double in
            c.withUnsafeMutableBufferPointer { pc in
                var fastest = Double.infinity, total = 0.0, products = 0
                while products < 5 || (seconds > 0 && total < seconds / 2) {
                    let wall = measure { product(pc.baseAddress!) }.wall
                    fastest = min(fastest, wall)
                    total += wall
                    products += 1
                }
                return seconds > 0 ? flops * Double(products) / total / 1e9 : flops / fastest / 1e9
            }
        }
        openblas_set_num_threads(Int32(computeThreads()))
        let openBLAS = rate { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n),
                                          1, a, Int32(n), b, Int32(n), 0, $0, Int32(n)) }
        // TensorMath keeps OpenBLAS single-threaded; let OpenBLAS's workers stop spinning first.
        openblas_set_num_threads(1)
        Thread.sleep(forTimeInterval: 0.5)
        let tensorMath = rate { gemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: $0, ldc: n) }
        return (max(openBLAS, tensorMath), openBLAS, tensorMath)
    }

    /// Multiply-adds ×2 of the encoder's matrix products (patch embedding, blocks, neck).
    func encoderFLOPs(_ c: ImageEncoderConfig) -> Double {
        let tokens = Double(c.gridSize * c.gridSize), dim = Double(c.embedDim)
        var total = 2 * tokens * dim * 3 * Double(c.patchSize * c.patchSize)
        for block in 0..<c.depth {
            let window = c.globalBlocks.contains(block) ? c.gridSize : c.windowSize
            let padded = Double(((c.gridSize + window - 1) / window) * window)
            let attended = padded * padded, keys = Double(window * window)
            total += 2 * attended * dim * 3 * dim        // qkv
            total += 2 * 2 * attended * keys * dim       // q·kᵀ and attention·v
            total += 2 * tokens * dim * dim              // proj
            total += 2 * 2 * tokens * dim * 4 * dim      // MLP
        }
        let out = Double(c.outChannels)
        total += 2 * tokens * dim * out + 2 * tokens * out * out * 9
        return total
    }
}

/// Largest resident set of this process so far.
func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// Wall-clock and process CPU seconds of `body`.
func measure(_ body: () -> Void) -> (wall: Double, cpu: Double) {
    let cpuSeconds = { () -> Double in
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
    let wallStart = Date(), cpuStart = cpuSeconds()
    body()
    return (Date().timeIntervalSince(wallStart), cpuSeconds() - cpuStart)
}

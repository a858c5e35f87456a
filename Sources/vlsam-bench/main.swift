import ArgumentParser
import Checkpoints
import Foundation
import Imaging
import SAMModels
import TensorMath

/// Measures the figures the README reports. Not part of the test suite.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlsam-bench",
        abstract: "Benchmark sgemm, the SAM-family image encoder and the mask decoder on this machine.",
        discussion: """
        Weights may be random: speed does not depend on their values. By default the EfficientSAM \
        ViT-T parity checkpoint (architecture-exact, random) and the 1800x1200 truck photo from \
        ../shared are used.
        """)

    @Option(help: "SAM or EfficientSAM checkpoint (.pt/.pth/.safetensors).")
    var checkpoint = "../shared/parity/efficientsam-vitt/weights.pt"

    @Option(help: "Photo to encode.")
    var image = "../shared/data/samples/truck.jpg"

    @Option(help: "Encoder runs to time (the best is reported).")
    var encoderRuns = 3

    @Option(help: "Prompt sets to decode.")
    var prompts = 20

    @Option(help: "Threads for OpenBLAS (default: all cores).")
    var threads: Int?

    mutating func run() throws {
        if let threads { setBLASThreads(threads) }
        print("vlsam-bench  (OpenBLAS threads: \(blasThreads()), cores: \(ProcessInfo.processInfo.activeProcessorCount))")

        let sgemm = measureSGEMM()
        print(String(format: "sgemm 2048x2048x2048:          %7.1f GFLOP/s", sgemm))

        var start = Date()
        let model = try SegmentAnythingModel(checkpoint: checkpoint)
        print(String(format: "load %@: %.2f s", model.name, Date().timeIntervalSince(start)))
        let photo = try decodeImage(atPath: image)

        var best = Double.infinity
        var encoded: (embedding: Tensor, geometry: ImageGeometry)?
        for _ in 0..<max(encoderRuns, 1) {
            start = Date()
            encoded = model.encode(photo)
            best = min(best, Date().timeIntervalSince(start))
        }
        let flops = encoderFLOPs(model.encoder.config)
        print(String(format: "encoder %@ on %dx%d:  %7.3f s  (%.1f GFLOP, %.1f GFLOP/s effective = %.0f%% of sgemm)",
                     model.name, photo.width, photo.height, best, flops / 1e9, flops / best / 1e9,
                     100 * flops / best / 1e9 / sgemm))

        let (embedding, geometry) = encoded!
        var timings: [Double] = []
        for i in 0..<max(prompts, 1) {
            let x = Float(100 + (i * 137) % (photo.width - 200)), y = Float(100 + (i * 71) % (photo.height - 200))
            let prompt = PromptSet(points: [SIMD2(x, y)], labels: [1])
            start = Date()
            _ = model.predict(embedding: embedding, geometry: geometry, prompt: prompt, multimask: true)
            timings.append(Date().timeIntervalSince(start))
        }
        timings.sort()
        print(String(format: "decoder per prompt set (3 masks at %dx%d): median %.1f ms, min %.1f ms",
                     photo.width, photo.height, 1000 * timings[timings.count / 2], 1000 * timings[0]))
        print(String(format: "peak RSS: %.0f MB", peakRSSMegabytes()))
    }

    func measureSGEMM(n: Int = 2048, repeats: Int = 5) -> Double {
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = Date()
            c.withUnsafeMutableBufferPointer { pc in
                gemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: pc.baseAddress!, ldc: n)
            }
            best = min(best, Date().timeIntervalSince(start))
        }
        return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
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

    func peakRSSMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

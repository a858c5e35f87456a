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

    @Flag var kernels = false

    func kernelBench() {
        func rnd(_ shape: [Int]) -> Tensor {
            var g = SystemRandomNumberGenerator()
            return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &g) })
        }
        func time(_ name: String, _ reps: Int = 5, _ f: () -> Void) {
            var best = Double.infinity
            var bestCPU = Double.infinity
            for _ in 0..<reps { let s = Date(), c = cpuSeconds(); f(); best = min(best, Date().timeIntervalSince(s)); bestCPU = min(bestCPU, cpuSeconds() - c) }
            print(String(format: "%@: %.2f ms (cpu %.2f ms)", name, best * 1000, bestCPU * 1000))
        }
        let q = rnd([4096, 192]), k = rnd([4096, 192]), v = rnd([4096, 192])
        time("attention 3x4096x4096x64") { _ = multiHeadAttention(q: q, k: k, v: v, heads: 3) }
        var s = rnd([1024, 4096])
        time("softmaxRows 1024x4096 (1 thread)") { s.data.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rows: 1024, cols: 4096, stride: 4096) } }
        var c = [Float](repeating: 0, count: 4096 * 4096)
        time("QK^T 4096x4096x64 x3 (gemm)") {
            q.data.withUnsafeBufferPointer { pq in k.data.withUnsafeBufferPointer { pk in c.withUnsafeMutableBufferPointer { pc in
                for h in 0..<3 { gemm(transB: true, m: 4096, n: 4096, k: 64, a: pq.baseAddress! + h * 64, lda: 192, b: pk.baseAddress! + h * 64, ldb: 192, c: pc.baseAddress!, ldc: 4096) }
            }}}
        }
        for rows in [32, 64, 128, 256, 512] {
            time("rows \(rows): QK^T+PV over 4096 queries, 1 head") {
                q.data.withUnsafeBufferPointer { pq in k.data.withUnsafeBufferPointer { pk in c.withUnsafeMutableBufferPointer { pc in v.data.withUnsafeBufferPointer { pv in
                    var o = [Float](repeating: 0, count: 4096 * 64)
                    for start in stride(from: 0, to: 4096, by: rows) {
                        gemm(transB: true, m: rows, n: 4096, k: 64, a: pq.baseAddress! + start * 192, lda: 192, b: pk.baseAddress!, ldb: 192, c: pc.baseAddress!, ldc: 4096)
                        gemm(m: rows, n: 64, k: 4096, a: pc.baseAddress!, lda: 4096, b: pv.baseAddress!, ldb: 192, c: &o[start * 64], ldc: 64)
                    }
                }}}}
            }
        }
        let x = rnd([4096, 192]), w1 = rnd([768, 192]), w2 = rnd([192, 768])
        time("mlp 4096x192x768 x2") { _ = linear(linear(x, weight: w1, bias: nil), weight: w2, bias: nil) }
        var h = rnd([4096, 768])
        time("gelu 4096x768") { geluInPlace(&h) }
    }

    mutating func run() throws {
        if let threads { setBLASThreads(threads) }
        if kernels { kernelBench() }
        print("vlsam-bench  (OpenBLAS threads: \(blasThreads()), cores: \(ProcessInfo.processInfo.activeProcessorCount))")

        let sgemm = measureSGEMM()
        print(String(format: "sgemm 2048x2048x2048:          %7.1f GFLOP/s", sgemm))

        var start = Date()
        let model = try SegmentAnythingModel(checkpoint: checkpoint)
        print(String(format: "load %@: %.2f s", model.name, Date().timeIntervalSince(start)))
        let photo = try decodeImage(atPath: image)

        var best = Double.infinity
        var bestCPU = Double.infinity
        var encoded: (embedding: Tensor, geometry: ImageGeometry)?
        for _ in 0..<max(encoderRuns, 1) {
            start = Date()
            let c = cpuSeconds()
            encoded = model.encode(photo)
            best = min(best, Date().timeIntervalSince(start))
            bestCPU = min(bestCPU, cpuSeconds() - c)
        }
        print(String(format: "encoder cpu %.3f s", bestCPU))
        let flops = encoderFLOPs(model.encoder.config)
        print(String(format: "encoder %@ on %dx%d:  %7.3f s  (%.1f GFLOP, %.1f GFLOP/s effective = %.0f%% of sgemm)",
                     model.name, photo.width, photo.height, best, flops / 1e9, flops / best / 1e9,
                     100 * flops / best / 1e9 / sgemm))

        let (embedding, geometry) = encoded!
        start = Date()
        let prepared = model.prepare(embedding: embedding, geometry: geometry)
        print(String(format: "decoder preparation (once per image): %.1f ms", 1000 * Date().timeIntervalSince(start)))
        var timings: [Double] = []
        for i in 0..<max(prompts, 1) {
            let x = Float(100 + (i * 137) % (photo.width - 200)), y = Float(100 + (i * 71) % (photo.height - 200))
            let prompt = PromptSet(points: [SIMD2(x, y)], labels: [1])
            start = Date()
            _ = model.predict(prepared, prompt: prompt, multimask: true)
            timings.append(Date().timeIntervalSince(start))
        }
        if kernels {
            let prompt = PromptSet(points: [SIMD2(500, 375)], labels: [1])
            func time(_ name: String, _ f: () -> Void) {
                var best = Double.infinity, bestCPU = Double.infinity
                for _ in 0..<10 { let s = Date(), c = cpuSeconds(); f(); best = min(best, Date().timeIntervalSince(s)); bestCPU = min(bestCPU, cpuSeconds() - c) }
                print(String(format: "%@: %.2f ms (cpu %.2f ms)", name, best * 1000, bestCPU * 1000))
            }
            let input = model.modelInput(for: prompt, geometry: geometry)
            let out = model.decode(prepared, prompt: input, multimask: true)
            let up = model.upsample(out.lowResLogits, geometry: geometry)
            time("decode") { _ = model.decode(prepared, prompt: input, multimask: true) }
            time("upsample") { _ = model.upsample(out.lowResLogits, geometry: geometry) }
            time("threshold x3") { up.data.withUnsafeBufferPointer { p in for c in 0..<3 { _ = model.threshold(UnsafeBufferPointer(rebasing: p[c * 2160000 ..< (c + 1) * 2160000])) } } }
            time("predict") { _ = model.predict(prepared, prompt: prompt, multimask: true) }
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

    func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    func peakRSSMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

import Foundation
import TensorMath

#if VLSAM_AVX512
/// One vector register: sixteen floats on AVX-512.
typealias PeakVector = SIMD16<Float>
#else
/// One AVX2 register (a baseline SSE build splits it in two, and spills).
typealias PeakVector = SIMD8<Float>
#endif

/// The machine's floating-point peak as this build reaches it, in GFLOP/s: every compute thread
/// runs a loop of fused multiply-adds on registers only, twelve independent accumulators (enough
/// to keep the FMA units busy through their latency), so neither memory nor a dependency chain
/// limits it. Nothing can run faster, so a rate as a fraction of it reads at most 100%, unlike one
/// against sgemm (which the encoder can beat). The best of five rounds.
func measureFMAPeak() -> Double {
    let iterations = 20_000_000, threads = computeThreads()
    let flops = Double(threads) * Double(iterations) * 12 * Double(PeakVector.scalarCount) * 2
    var best = Double.infinity, sink: Float = 0
    for _ in 0..<5 {
        var results = [Float](repeating: 0, count: threads)
        let wall = measure {
            results.withUnsafeMutableBufferPointer { out in
                parallelFor(threads) { _, item in out[item] = independentFMAs(iterations, seed: Float(item + 1) * 1e-3) }
            }
        }.wall
        best = min(best, wall)
        sink += results.reduce(0, +)
    }
    // The loops' results are used, so they cannot be left out.
    return sink.isNaN ? 0 : flops / best / 1e9
}

/// `iterations` rounds of twelve independent c += a·b on vector registers; returns their sum.
@inline(never)
private func independentFMAs(_ iterations: Int, seed: Float) -> Float {
    let a = PeakVector(repeating: seed), b = PeakVector(repeating: 1 - seed)
    var c0 = PeakVector(repeating: seed), c1 = c0 + 1, c2 = c0 + 2, c3 = c0 + 3, c4 = c0 + 4, c5 = c0 + 5
    var c6 = c0 + 6, c7 = c0 + 7, c8 = c0 + 8, c9 = c0 + 9, c10 = c0 + 10, c11 = c0 + 11
    for _ in 0 ..< iterations {
        c0 = c0.addingProduct(a, b); c1 = c1.addingProduct(a, b); c2 = c2.addingProduct(a, b)
        c3 = c3.addingProduct(a, b); c4 = c4.addingProduct(a, b); c5 = c5.addingProduct(a, b)
        c6 = c6.addingProduct(a, b); c7 = c7.addingProduct(a, b); c8 = c8.addingProduct(a, b)
        c9 = c9.addingProduct(a, b); c10 = c10.addingProduct(a, b); c11 = c11.addingProduct(a, b)
    }
    return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).sum()
}

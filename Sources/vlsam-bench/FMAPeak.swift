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
    // Per thread: a, b and the twelve accumulators, every lane different, read from and written
    // back to memory, so the compiler can neither narrow the vectors nor drop the loop.
    let width = PeakVector.scalarCount
    var state = (0 ..< threads * 14 * width).map { Float($0 % 97) * 1e-3 }
    var best = Double.infinity
    for _ in 0..<5 {
        let wall = measure {
            state.withUnsafeMutableBufferPointer { buffer in
                let vectors = UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: PeakVector.self)
                parallelFor(threads) { _, item in independentFMAs(iterations, vectors + 14 * item) }
            }
        }.wall
        best = min(best, wall)
    }
    return flops / best / 1e9
}

/// `iterations` rounds of twelve independent c += a·b on vector registers, with a = state[0],
/// b = state[1] and the accumulators state[2 ..< 14] (written back).
@inline(never)
private func independentFMAs(_ iterations: Int, _ state: UnsafeMutablePointer<PeakVector>) {
    let a = state[0], b = state[1]
    var c0 = state[2], c1 = state[3], c2 = state[4], c3 = state[5], c4 = state[6], c5 = state[7]
    var c6 = state[8], c7 = state[9], c8 = state[10], c9 = state[11], c10 = state[12], c11 = state[13]
    for _ in 0 ..< iterations {
        c0 = c0.addingProduct(a, b); c1 = c1.addingProduct(a, b); c2 = c2.addingProduct(a, b)
        c3 = c3.addingProduct(a, b); c4 = c4.addingProduct(a, b); c5 = c5.addingProduct(a, b)
        c6 = c6.addingProduct(a, b); c7 = c7.addingProduct(a, b); c8 = c8.addingProduct(a, b)
        c9 = c9.addingProduct(a, b); c10 = c10.addingProduct(a, b); c11 = c11.addingProduct(a, b)
    }
    state[2] = c0; state[3] = c1; state[4] = c2; state[5] = c3; state[6] = c4; state[7] = c5
    state[8] = c6; state[9] = c7; state[10] = c8; state[11] = c9; state[12] = c10; state[13] = c11
}

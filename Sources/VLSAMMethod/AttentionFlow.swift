import TensorMath

/// Attention flow (§4), accumulated while the forward pass runs: it consumes one layer at a
/// time, in layer order, and keeps only the flow into a chosen column set C (the image tokens'
/// positions), never a layer's aggregated attention beyond its own step.
///
/// With Ã[l] = (1 − α) · Abar[l] / rowsum + α · I, rollout carries X_l = Ã[l] · X_{l−1} from
/// X_{−1} = I[:, C]; after the last layer X = (Ã[L−1] ··· Ã[0])[:, C], so every row of the rollout
/// product is there and objects can be chosen afterwards. The mean flow accumulates
/// Σ_l Ã[l][:, C] and divides by L. All variants share each layer's aggregated attention.
public final class AttentionFlow {
    /// A kind of flow and its residual share α.
    public struct Variant: Hashable, Sendable {
        public var kind: FlowKind
        public var alpha: Float

        public init(kind: FlowKind = .rollout, alpha: Float = 0.9) {
            self.kind = kind
            self.alpha = alpha
        }

        /// The method's default: rollout with α = 0.9.
        public static let standard = Variant()
    }

    public let tokens: Int
    /// C: sequence positions whose flow is kept, ascending.
    public let columns: [Int]
    public let variants: [Variant]
    /// Layers consumed so far.
    public private(set) var layers = 0
    /// w[l, h] of every consumed layer.
    public private(set) var headWeights: [[Float]] = []
    /// Per variant, [T, |C|] row-major: X for rollout, Σ_l Ã[l][:, C] for mean.
    private var states: [[Float]]
    private var product: [Float]
    private let inspect: ((AggregatedAttention) -> Void)?

    /// `inspect` sees each layer's aggregated attention before the flow consumes it (for checks
    /// against reference values; the flow itself never keeps it).
    public init(tokens: Int, columns: [Int], variants: [Variant] = [.standard],
                inspect: ((AggregatedAttention) -> Void)? = nil) {
        precondition(zip(columns, columns.dropFirst()).allSatisfy { $0 < $1 } && columns.allSatisfy { (0..<tokens).contains($0) },
                     "AttentionFlow: columns must be ascending positions below T = \(tokens)")
        precondition(!variants.isEmpty, "AttentionFlow: no variant")
        self.tokens = tokens
        self.columns = columns
        self.variants = variants
        self.inspect = inspect
        let c = columns.count
        var identity = [Float](repeating: 0, count: tokens * c)
        for (k, j) in columns.enumerated() { identity[j * c + k] = 1 }
        states = variants.map { $0.kind == .rollout ? identity : [Float](repeating: 0, count: tokens * c) }
        product = [Float](repeating: 0, count: tokens * c)
    }

    /// Folds in the next layer (layers must come in order 0, 1, …).
    public func consume(_ attention: LayerAttention) {
        precondition(attention.tokens == tokens, "AttentionFlow: layer of \(attention.tokens) tokens, expected \(tokens)")
        precondition(attention.layer == layers, "AttentionFlow: layer \(attention.layer) arrived, expected \(layers)")
        var aggregated = AggregatedAttention(attention)
        headWeights.append(aggregated.headWeights.weights)
        inspect?(aggregated)
        let t = tokens, c = columns.count
        let sums = aggregated.rowSums
        aggregated.values.withUnsafeMutableBufferPointer { normalised in
            let n = normalised.baseAddress!
            for i in 0..<t {
                let scale = 1 / sums[i]
                for j in 0...i { n[i * t + j] *= scale }
            }
            for (index, variant) in variants.enumerated() {
                let keep = variant.alpha, mix = 1 - variant.alpha
                states[index].withUnsafeMutableBufferPointer { state in
                    let x = state.baseAddress!
                    switch variant.kind {
                    case .rollout:
                        product.withUnsafeMutableBufferPointer { multiply(n, x, into: $0.baseAddress!) }
                        product.withUnsafeBufferPointer { y in
                            for e in 0..<(t * c) { x[e] = mix * y[e] + keep * x[e] }
                        }
                    case .mean:
                        for i in 0..<t {
                            for (k, j) in columns.enumerated() where j <= i {
                                x[i * c + k] += mix * n[i * t + j] + (i == j ? keep : 0)
                            }
                        }
                    }
                }
            }
        }
        layers += 1
    }

    /// The flow row of a set of query rows (§6): the mean of their flow rows, over C, before
    /// regularisation.
    public func row(of rows: [Int], variant: Variant = .standard) -> [Float] {
        guard let index = variants.firstIndex(of: variant) else { preconditionFailure("AttentionFlow: variant \(variant) not tracked") }
        precondition(!rows.isEmpty && rows.allSatisfy { (0..<tokens).contains($0) }, "AttentionFlow: rows \(rows) outside 0..<\(tokens)")
        precondition(variant.kind == .rollout || layers > 0, "AttentionFlow: mean flow of no layers")
        let c = columns.count
        let scale = 1 / Double(rows.count) / Double(variant.kind == .mean ? layers : 1)
        return states[index].withUnsafeBufferPointer { x in
            (0..<c).map { k in Float(rows.reduce(0.0) { $0 + Double(x[$1 * c + k]) } * scale) }
        }
    }

    /// Y = N · X for lower-triangular N ([T, T]) and X ([T, |C|]), skipping the blocks that are
    /// zero: N[i, j] = 0 for j > i, and X[j, k] = 0 for j < C[k] (true of I[:, C] and kept by
    /// every lower-triangular product). With C the image tokens this is about a sixth of a full
    /// product.
    private func multiply(_ n: UnsafePointer<Float>, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let t = tokens, c = columns.count, block = 128
        let rowBlocks = (t + block - 1) / block, columnBlocks = (c + block - 1) / block
        parallelFor(rowBlocks * columnBlocks) { _, item in
            let i0 = item / columnBlocks * block, i1 = min(i0 + block, t)
            let k0 = item % columnBlocks * block, k1 = min(k0 + block, c)
            // Only j in columns[k0] ..< i1 can contribute to this block.
            let j0 = columns[k0]
            guard j0 < i1 else {
                for i in i0..<i1 { (y + i * c + k0).update(repeating: 0, count: k1 - k0) }
                return
            }
            gemm(m: i1 - i0, n: k1 - k0, k: i1 - j0, a: n + i0 * t + j0, lda: t,
                 b: x + j0 * c + k0, ldb: c, c: y + i0 * c + k0, ldc: c)
        }
    }
}

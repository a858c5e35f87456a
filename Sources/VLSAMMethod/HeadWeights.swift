import TensorMath

/// One layer's head weights (§2): w[h] = the mean over all T query rows of the row's largest
/// probability, so focused heads count more in the aggregate than diffuse ones.
public struct HeadWeights: Sendable, Equatable {
    public let heads: Int
    public let tokens: Int
    /// max_j A[h][i, j], [heads, T] row-major.
    public let rowMaxima: [Float]
    /// w[h], one per query head.
    public let weights: [Float]

    public init(rowMaxima: [Float], heads: Int, tokens: Int) {
        precondition(rowMaxima.count == heads * tokens, "HeadWeights: \(rowMaxima.count) row maxima for \(heads) heads × \(tokens) rows")
        self.heads = heads
        self.tokens = tokens
        self.rowMaxima = rowMaxima
        weights = (0..<heads).map { h in Self.weight(rowMaxima: rowMaxima[h * tokens ..< (h + 1) * tokens]) }
    }

    /// One head's weight from its row maxima, summed in double precision: T can be thousands of
    /// rows, each near 1/T or (row 0 always) exactly 1.
    static func weight(rowMaxima: ArraySlice<Float>) -> Float {
        Float(rowMaxima.reduce(0.0) { $0 + Double($1) } / Double(rowMaxima.count))
    }
}

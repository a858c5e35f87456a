/// Counter-weight to causal collapse (§5): under a causal mask position j is seen by T − j rows,
/// so early positions collect mass; `column` scales position j by r[j] = (j + 1) / T.
extension Regularization {
    /// The factor for sequence position `column` of a T-token sequence.
    public func weight(column: Int, tokens: Int) -> Float {
        switch self {
        case .column: return Float(column + 1) / Float(tokens)
        case .none: return 1
        }
    }

    /// Applies r once to a final flow row whose entries belong to the positions `columns`.
    public func apply(to row: [Float], columns: [Int], tokens: Int) -> [Float] {
        precondition(row.count == columns.count, "Regularization: \(row.count) values for \(columns.count) columns")
        return zip(row, columns).map { $0 * weight(column: $1, tokens: tokens) }
    }
}

/// The query rows that stand for an object (§6), from its mentions' answer spans [start, end).
/// The token at position p was chosen by the query at p − 1 (`predicting`) and carries the name
/// at p (`token`); `both` is their union.
public enum ObjectRows {
    /// Sorted, each position once.
    public static func rows(spans: [Range<Int>], query: QueryRows) -> [Int] {
        var rows = Set<Int>()
        for span in spans {
            precondition(span.lowerBound >= 1 || query == .token, "ObjectRows: span \(span) has no predicting row")
            if query != .token { rows.formUnion(span.map { $0 - 1 }) }
            if query != .predicting { rows.formUnion(span) }
        }
        return rows.sorted()
    }
}

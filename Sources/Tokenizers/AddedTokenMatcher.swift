/// Finds added tokens (e.g. `<image>`, `<|im_start|>`) in text as whole units, leftmost first
/// and longest at that position, as Hugging Face's added-vocabulary split does.
struct AddedTokenMatcher: Sendable {
    private struct Candidate: Sendable {
        let scalars: [Unicode.Scalar]
        let id: Int
    }

    /// Candidates by their first character, longest first.
    private let candidatesByFirstScalar: [Unicode.Scalar: [Candidate]]

    init(_ tokens: [(content: String, id: Int)]) {
        var table: [Unicode.Scalar: [Candidate]] = [:]
        for token in tokens {
            let scalars = Array(token.content.unicodeScalars)
            guard let first = scalars.first else { continue }
            table[first, default: []].append(Candidate(scalars: scalars, id: token.id))
        }
        candidatesByFirstScalar = table.mapValues { $0.sorted { $0.scalars.count > $1.scalars.count } }
    }

    /// The longest added token starting exactly at `position`: its id and end index.
    private func match(in text: ArraySlice<Unicode.Scalar>, at position: Int) -> (id: Int, end: Int)? {
        guard let candidates = candidatesByFirstScalar[text[position]] else { return nil }
        for candidate in candidates where text.endIndex - position >= candidate.scalars.count {
            var matches = true
            for (offset, scalar) in candidate.scalars.enumerated() where text[position + offset] != scalar {
                matches = false
                break
            }
            if matches { return (candidate.id, position + candidate.scalars.count) }
        }
        return nil
    }

    /// Walks `text`, calling `onText` for each stretch between added tokens and `onToken`
    /// with the id of each added token found, in order.
    func split(_ text: ArraySlice<Unicode.Scalar>,
               onText: (ArraySlice<Unicode.Scalar>) -> Void, onToken: (Int) -> Void) {
        var textStart = text.startIndex
        var position = text.startIndex
        while position < text.endIndex {
            guard let found = match(in: text, at: position) else { position += 1; continue }
            if textStart < position { onText(text[textStart..<position]) }
            onToken(found.id)
            position = found.end
            textStart = found.end
        }
        if textStart < text.endIndex { onText(text[textStart..<text.endIndex]) }
    }
}

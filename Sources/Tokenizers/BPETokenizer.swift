/// Byte-level BPE as Hugging Face `tokenizers` runs it for GPT-2-style vocabularies
/// (SmolLM2, SmolVLM): added tokens are cut out as whole units, the rest is split into words,
/// each word's UTF-8 bytes are drawn in GPT-2's byte alphabet and merged by rank.
///
/// Immutable after init, so one instance can be shared between threads.
public final class BPETokenizer: Sendable {
    /// A token matched as a whole unit in the input text, outside BPE.
    struct AddedToken: Sendable {
        let id: Int
        let content: String
        /// Dropped by `decode(_:skipSpecialTokens: true)`.
        let special: Bool
        /// Hugging Face matches non-normalized added tokens first, over the raw text, and
        /// normalized ones afterwards, inside what is left.
        let normalized: Bool
    }

    /// One more than the largest token id (ids below it without a token decode to nothing).
    public let vocabularySize: Int

    private let tokenByID: [String?]
    private let idByToken: [String: Int]
    private let specialByID: [Bool]
    /// Bytes each id decodes to: `decodedBytes[decodedByteStart[id] ..< decodedByteStart[id + 1]]`.
    private let decodedBytes: [UInt8]
    private let decodedByteStart: [Int]

    /// Token id of each single byte, or -1 when the vocabulary lacks it (the byte is then dropped).
    private let byteTokenIDs: [Int32]
    /// `pairKey(left, right)` → `rank << 32 | mergedID`.
    private let mergeTable: [UInt64: UInt64]
    private let preTokenizer: ByteLevelPreTokenizer
    private let rawAddedTokens: AddedTokenMatcher
    private let normalizedAddedTokens: AddedTokenMatcher

    /// Builds a tokenizer from a GGUF-style description: `vocabulary[i]` is the token string
    /// (in the byte alphabet) of id i, `merges` are `"left right"` in rank order, and
    /// `addedTokens` are matched as whole units (GGUF `token_type` 3, CONTROL, is a special one).
    /// `splitDigits` isolates every `\p{N}` character first (llama.cpp's `smollm` pre-tokenizer).
    /// `source` names where the description came from, for error messages.
    public convenience init(vocabulary: [String], merges: [String],
                            addedTokens: [(id: Int, content: String, special: Bool)],
                            splitDigits: Bool, source: String = "in-memory vocabulary") throws {
        var pairs: [(left: String, right: String)] = []
        pairs.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            guard let pair = Self.mergePair(merge) else {
                throw TokenizerError(source: source, "merge \(rank) \"\(merge)\" is not two tokens separated by one space")
            }
            pairs.append(pair)
        }
        try self.init(
            vocabulary: vocabulary.enumerated().map { ($0.element, $0.offset) },
            merges: pairs,
            addedTokens: addedTokens.map { AddedToken(id: $0.id, content: $0.content, special: $0.special, normalized: false) },
            unknownToken: nil,
            preTokenizer: ByteLevelPreTokenizer(digits: splitDigits ? .individual : .none, addPrefixSpace: false, useRegex: true),
            source: source)
    }

    init(vocabulary: [(token: String, id: Int)], merges: [(left: String, right: String)],
         addedTokens: [AddedToken], unknownToken: String?,
         preTokenizer: ByteLevelPreTokenizer, source: String) throws {
        var idByToken: [String: Int] = [:]
        idByToken.reserveCapacity(vocabulary.count + addedTokens.count)
        var maxID = -1
        for entry in vocabulary {
            guard entry.id >= 0 else {
                throw TokenizerError(source: source, "token \"\(entry.token)\" has negative id \(entry.id)")
            }
            // A repeated token string keeps its first id, so encoding is deterministic.
            if idByToken[entry.token] == nil { idByToken[entry.token] = entry.id }
            maxID = max(maxID, entry.id)
        }
        for token in addedTokens {
            guard token.id >= 0 else {
                throw TokenizerError(source: source, "added token \"\(token.content)\" has negative id \(token.id)")
            }
            guard !token.content.isEmpty else {
                throw TokenizerError(source: source, "added token \(token.id) has empty content")
            }
            maxID = max(maxID, token.id)
        }
        guard maxID >= 0 else { throw TokenizerError(source: source, "the vocabulary is empty") }

        var tokenByID = [String?](repeating: nil, count: maxID + 1)
        for entry in vocabulary where tokenByID[entry.id] == nil { tokenByID[entry.id] = entry.token }
        let modelIDByToken = idByToken
        var specialByID = [Bool](repeating: false, count: maxID + 1)
        // Added tokens take precedence over the model vocabulary in both directions, as in Hugging Face.
        for token in addedTokens {
            tokenByID[token.id] = token.content
            idByToken[token.content] = token.id
            specialByID[token.id] = token.special
        }

        var decodedBytes: [UInt8] = []
        var decodedByteStart: [Int] = [0]
        decodedByteStart.reserveCapacity(maxID + 2)
        for token in tokenByID {
            if let token { decodedBytes.append(contentsOf: ByteLevelAlphabet.decodedBytes(of: token)) }
            decodedByteStart.append(decodedBytes.count)
        }

        let unknownID = unknownToken.flatMap { modelIDByToken[$0] }
        let byteTokenIDs: [Int32] = ByteLevelAlphabet.scalarForByte.map { scalar in
            Int32(modelIDByToken[String(scalar)] ?? unknownID ?? -1)
        }

        var mergeTable: [UInt64: UInt64] = [:]
        mergeTable.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            func id(of token: String) throws -> Int {
                guard let id = modelIDByToken[token] else {
                    throw TokenizerError(source: source,
                                         "merge \(rank) \"\(merge.left) \(merge.right)\" uses \"\(token)\", which is not in the vocabulary")
                }
                return id
            }
            let key = Self.pairKey(Int32(try id(of: merge.left)), Int32(try id(of: merge.right)))
            // A repeated pair takes its later rank, as Hugging Face's merge map does.
            mergeTable[key] = UInt64(rank) << 32 | UInt64(try id(of: merge.left + merge.right))
        }

        self.vocabularySize = maxID + 1
        self.tokenByID = tokenByID
        self.idByToken = idByToken
        self.specialByID = specialByID
        self.decodedBytes = decodedBytes
        self.decodedByteStart = decodedByteStart
        self.byteTokenIDs = byteTokenIDs
        self.mergeTable = mergeTable
        self.preTokenizer = preTokenizer
        self.rawAddedTokens = AddedTokenMatcher(addedTokens.filter { !$0.normalized }.map { ($0.content, $0.id) })
        self.normalizedAddedTokens = AddedTokenMatcher(addedTokens.filter { $0.normalized }.map { ($0.content, $0.id) })
    }

    /// A merge written as `"left right"` (merges.txt, GGUF, older tokenizer.json files).
    static func mergePair(_ line: String) -> (left: String, right: String)? {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    // MARK: - Lookup

    /// The token string of an id (byte-alphabet text, or an added token's content).
    public func token(for id: Int) -> String? {
        tokenByID.indices.contains(id) ? tokenByID[id] : nil
    }

    /// The id of a token string (byte-alphabet text, or an added token's content).
    public func id(for token: String) -> Int? {
        idByToken[token]
    }

    /// Whether `id` is a special added token (dropped when decoding with `skipSpecialTokens`).
    public func isSpecialToken(_ id: Int) -> Bool {
        specialByID.indices.contains(id) && specialByID[id]
    }

    /// The bytes `id` contributes to decoded text (a token may hold part of a UTF-8 character);
    /// empty for ids without a token.
    public func bytes(of id: Int) -> [UInt8] {
        guard id >= 0 && id < vocabularySize else { return [] }
        return Array(decodedBytes[decodedByteStart[id]..<decodedByteStart[id + 1]])
    }

    // MARK: - Encoding

    /// Token ids of `text`. Nothing is added (no BOS/EOS); every byte is covered by the byte alphabet.
    public func encode(_ text: String) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var session = EncodingSession(tokenizer: self)
        session.ids.reserveCapacity(scalars.count / 3 + 8)
        rawAddedTokens.split(scalars[...], onText: { stretch in
            normalizedAddedTokens.split(stretch, onText: { piece in
                preTokenizer.forEachWord(in: piece) { session.appendWord($0) }
            }, onToken: { session.ids.append($0) })
        }, onToken: { session.ids.append($0) })
        return session.ids
    }

    /// The token strings of `text`, e.g. `["car", ",", "Ġtruck"]`.
    public func encodeToTokens(_ text: String) -> [String] {
        encode(text).map { tokenByID[$0] ?? "" }
    }

    private static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Scratch buffers and the word cache of one `encode` call.
    private struct EncodingSession {
        let tokenizer: BPETokenizer
        var ids: [Int] = []
        var cache: [[UInt8]: [Int]] = [:]
        var wordBytes: [UInt8] = []
        var symbols: [Int32] = []

        init(tokenizer: BPETokenizer) {
            self.tokenizer = tokenizer
        }

        mutating func appendWord(_ word: ArraySlice<Unicode.Scalar>) {
            wordBytes.removeAll(keepingCapacity: true)
            for scalar in word {
                UTF8.encode(scalar) { wordBytes.append($0) }
            }
            if wordBytes.count == 1 {
                let id = tokenizer.byteTokenIDs[Int(wordBytes[0])]
                if id >= 0 { ids.append(Int(id)) }
                return
            }
            if let cached = cache[wordBytes] {
                ids.append(contentsOf: cached)
                return
            }
            mergeWordBytes()
            let wordIDs = symbols.map(Int.init)
            cache[wordBytes] = wordIDs
            ids.append(contentsOf: wordIDs)
        }

        /// BPE on `wordBytes` into `symbols`: repeatedly merge every occurrence of the
        /// lowest-ranked adjacent pair, left to right, until no pair has a merge.
        private mutating func mergeWordBytes() {
            symbols.removeAll(keepingCapacity: true)
            for byte in wordBytes {
                let id = tokenizer.byteTokenIDs[Int(byte)]
                if id >= 0 { symbols.append(id) }
            }
            let mergeTable = tokenizer.mergeTable
            while symbols.count >= 2 {
                var bestRank = UInt64.max
                var bestPair: (left: Int32, right: Int32, merged: Int32) = (0, 0, -1)
                for index in 0..<(symbols.count - 1) {
                    guard let merge = mergeTable[BPETokenizer.pairKey(symbols[index], symbols[index + 1])] else { continue }
                    let rank = merge >> 32
                    if rank < bestRank {
                        bestRank = rank
                        bestPair = (symbols[index], symbols[index + 1], Int32(truncatingIfNeeded: merge & 0xFFFF_FFFF))
                    }
                }
                guard bestPair.merged >= 0 else { break }
                let count = symbols.count
                var write = 0
                var read = 0
                while read < count {
                    if read + 1 < count && symbols[read] == bestPair.left && symbols[read + 1] == bestPair.right {
                        symbols[write] = bestPair.merged
                        read += 2
                    } else {
                        symbols[write] = symbols[read]
                        read += 1
                    }
                    write += 1
                }
                symbols.removeLast(count - write)
            }
        }
    }

    // MARK: - Decoding

    /// The text of `ids`: token bytes are joined first and UTF-8 decoded once, so characters
    /// split across tokens survive; invalid sequences become U+FFFD (like Python's
    /// `errors="replace"`). Ids without a token are skipped, as Hugging Face does.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        decodedBytes.withUnsafeBufferPointer { allBytes in
            for id in ids where id >= 0 && id < vocabularySize {
                if skipSpecialTokens && specialByID[id] { continue }
                bytes.append(contentsOf: allBytes[decodedByteStart[id]..<decodedByteStart[id + 1]])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

import Foundation

extension BPETokenizer {
    /// Loads a Hugging Face `tokenizer.json` with a byte-level BPE model: `model.vocab`,
    /// `model.merges` (`["a", "b"]` pairs or `"a b"` strings), `added_tokens`, and a
    /// pre-tokenizer that is `ByteLevel` or `Sequence[Digits, ByteLevel]`. Anything this class
    /// would not reproduce exactly (normalizers, other pre-tokenizers, post-processors that add
    /// tokens, other decoders, BPE dropout, ...) is rejected with an error naming the file.
    public convenience init(tokenizerJSON path: String) throws {
        let root = try readJSONObject(at: path)
        let reader = TokenizerJSONReader(path: path)
        guard let model = root["model"] as? [String: Any] else { throw reader.error("has no \"model\" object") }
        try reader.checkModelOptions(model)
        try reader.checkNormalizer(root["normalizer"])
        try reader.checkPostProcessor(root["post_processor"])
        try reader.checkDecoder(root["decoder"])
        try self.init(vocabulary: reader.vocabulary(model["vocab"]),
                      merges: reader.merges(model["merges"]),
                      addedTokens: reader.addedTokens(root["added_tokens"]),
                      unknownToken: model["unk_token"] as? String,
                      preTokenizer: reader.preTokenizer(root["pre_tokenizer"]),
                      source: path)
    }
}

/// Interprets the parts of a parsed tokenizer.json, each failure naming the file.
private struct TokenizerJSONReader {
    let path: String

    func error(_ problem: String) -> TokenizerError {
        TokenizerError(source: path, problem)
    }

    private func unsupported(_ what: String) -> TokenizerError {
        error("\(what) is not supported (this tokenizer implements byte-level BPE only)")
    }

    func checkModelOptions(_ model: [String: Any]) throws {
        let type = model["type"] as? String ?? "BPE"
        guard type == "BPE" else { throw unsupported("model type \"\(type)\"") }
        if let dropout = model["dropout"] as? Double, dropout > 0 { throw unsupported("BPE dropout \(dropout)") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = model[key] as? String, !affix.isEmpty { throw unsupported("model.\(key) \"\(affix)\"") }
        }
        for key in ["byte_fallback", "ignore_merges"] where model[key] as? Bool == true {
            throw unsupported("model.\(key) = true")
        }
    }

    func checkNormalizer(_ normalizer: Any?) throws {
        guard isAbsent(normalizer) else { throw unsupported("normalizer \(typeName(normalizer))") }
    }

    /// Post-processors matter only when they add tokens; the ones that add none are accepted.
    func checkPostProcessor(_ processor: Any?) throws {
        guard !isAbsent(processor) else { return }
        guard let object = processor as? [String: Any] else { throw error("\"post_processor\" is not an object") }
        switch object["type"] as? String {
        case "ByteLevel":
            return  // only adjusts offsets
        case "TemplateProcessing":
            let single = object["single"] as? [[String: Any]] ?? []
            let addsTokens = single.contains { $0["SpecialToken"] != nil }
            if addsTokens { throw unsupported("post_processor TemplateProcessing that adds special tokens") }
        default:
            throw unsupported("post_processor \(typeName(processor))")
        }
    }

    func checkDecoder(_ decoder: Any?) throws {
        guard (decoder as? [String: Any])?["type"] as? String == "ByteLevel" else {
            throw unsupported(isAbsent(decoder) ? "a missing decoder" : "decoder \(typeName(decoder))")
        }
    }

    func vocabulary(_ value: Any?) throws -> [(token: String, id: Int)] {
        guard let vocab = value as? [String: Any] else { throw error("model.vocab is missing or not an object") }
        var entries: [(token: String, id: Int)] = []
        entries.reserveCapacity(vocab.count)
        for (token, idValue) in vocab {
            guard let id = idValue as? Int else { throw error("model.vocab[\"\(token)\"] is not an integer id") }
            entries.append((token, id))
        }
        return entries
    }

    func merges(_ value: Any?) throws -> [(left: String, right: String)] {
        guard let list = value as? [Any] else { throw error("model.merges is missing or not an array") }
        var merges: [(left: String, right: String)] = []
        merges.reserveCapacity(list.count)
        for (rank, item) in list.enumerated() {
            if let pair = item as? [Any], pair.count == 2, let left = pair[0] as? String, let right = pair[1] as? String {
                merges.append((left, right))
                continue
            }
            if let line = item as? String, let pair = BPETokenizer.mergePair(line) {
                merges.append(pair)
                continue
            }
            throw error("model.merges[\(rank)] is neither a [left, right] pair nor a \"left right\" string")
        }
        return merges
    }

    func addedTokens(_ value: Any?) throws -> [BPETokenizer.AddedToken] {
        guard !isAbsent(value) else { return [] }
        guard let list = value as? [[String: Any]] else { throw error("\"added_tokens\" is not an array of objects") }
        return try list.enumerated().map { index, entry in
            guard let id = entry["id"] as? Int, let content = entry["content"] as? String else {
                throw error("added_tokens[\(index)] lacks an integer \"id\" or a string \"content\"")
            }
            for key in ["lstrip", "rstrip", "single_word"] where entry[key] as? Bool == true {
                throw unsupported("added token \"\(content)\" with \(key) = true")
            }
            let special = entry["special"] as? Bool ?? false
            // Hugging Face's default: special tokens are not normalized, other added tokens are.
            let normalized = entry["normalized"] as? Bool ?? !special
            return BPETokenizer.AddedToken(id: id, content: content, special: special, normalized: normalized)
        }
    }

    /// `ByteLevel`, or `Sequence` of an optional `Digits` followed by `ByteLevel`.
    func preTokenizer(_ value: Any?) throws -> ByteLevelPreTokenizer {
        guard let object = value as? [String: Any] else {
            throw unsupported(isAbsent(value) ? "a missing pre_tokenizer" : "pre_tokenizer \(typeName(value))")
        }
        var steps = [object]
        if object["type"] as? String == "Sequence" {
            guard let inner = object["pretokenizers"] as? [[String: Any]] else {
                throw error("pre_tokenizer Sequence has no \"pretokenizers\" array")
            }
            steps = inner
        }
        var digits = DigitSplitting.none
        if steps.count == 2, steps[0]["type"] as? String == "Digits" {
            digits = steps[0]["individual_digits"] as? Bool ?? false ? .individual : .contiguous
            steps.removeFirst()
        }
        guard steps.count == 1, steps[0]["type"] as? String == "ByteLevel" else {
            let kinds = steps.map { $0["type"] as? String ?? "?" }.joined(separator: ", ")
            throw unsupported("pre_tokenizer [\(kinds)] (expected ByteLevel, or Sequence[Digits, ByteLevel])")
        }
        return ByteLevelPreTokenizer(digits: digits,
                                     addPrefixSpace: steps[0]["add_prefix_space"] as? Bool ?? true,
                                     useRegex: steps[0]["use_regex"] as? Bool ?? true)
    }

    private func typeName(_ value: Any?) -> String {
        if let type = (value as? [String: Any])?["type"] as? String { return "\"\(type)\"" }
        return "of an unknown kind"
    }
}

import Artifacts
import Foundation
import TestSupport
import Tokenizers
import XCTest

enum SharedFiles {
    static let smolVLMTokenizerJSON = "models/smolvlm-256m-instruct/tokenizer.json"
    static let smolVLMChatTemplateJSON = "models/smolvlm-256m-instruct/chat_template.json"
    static let smolVLMTokenizerConfigJSON = "models/smolvlm-256m-instruct/tokenizer_config.json"
    static let smolVLMVocabJSON = "models/smolvlm-256m-instruct/vocab.json"
    static let smolVLMMergesTxt = "models/smolvlm-256m-instruct/merges.txt"
    static let smolVLMParity = "parity/smolvlm-tiny/parity.h5"
    static let smolLM2Parity = "parity/smollm2-135m/parity.h5"
}

/// The path of a shared file, or a skip when ../shared is absent.
func requireShared(_ relative: String) throws -> String {
    guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
    return path
}

/// SmolVLM's tokenizer.json, loaded once for all tests (loading parses 3.5 MB of JSON).
private let loadedSmolVLMTokenizer: Result<BPETokenizer, Error>? = sharedPath(SharedFiles.smolVLMTokenizerJSON).map { path in
    Result { try BPETokenizer(tokenizerJSON: path) }
}

func smolVLMTokenizer() throws -> BPETokenizer {
    guard let loaded = loadedSmolVLMTokenizer else { throw XCTSkip(missingShared(SharedFiles.smolVLMTokenizerJSON)) }
    return try loaded.get()
}

func openShared(_ relative: String) throws -> HDF5File {
    try HDF5File(readingAt: requireShared(relative))
}

extension HDF5File {
    func readIDs(_ dataset: String) throws -> [Int] {
        try readInt64(dataset).values.map { Int($0) }
    }
}

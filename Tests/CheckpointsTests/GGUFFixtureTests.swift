import Checkpoints
import Foundation
import TensorMath
import XCTest

/// The small GGUF files written by scripts/make_gguf_fixtures.py, checked against the values
/// numpy computed there from the ggml block definitions.
final class GGUFFixtureTests: XCTestCase {
    private func expectedValue(_ description: [String: Any]) throws -> GGUFValue {
        let type = try XCTUnwrap(description["type"] as? String)
        if type == "array" {
            let elements = try XCTUnwrap(description["elements"] as? [[String: Any]])
            return .array(try elements.map(expectedValue))
        }
        let number = description["value"] as? NSNumber
        func integer() throws -> Int64 { try XCTUnwrap(number).int64Value }
        switch type {
        case "uint8": return .uint8(UInt8(try integer()))
        case "int8": return .int8(Int8(try integer()))
        case "uint16": return .uint16(UInt16(try integer()))
        case "int16": return .int16(Int16(try integer()))
        case "uint32": return .uint32(UInt32(try integer()))
        case "int32": return .int32(Int32(try integer()))
        case "uint64": return .uint64(try XCTUnwrap(UInt64(try XCTUnwrap(description["value"] as? String))))
        case "int64": return .int64(try XCTUnwrap(Int64(try XCTUnwrap(description["value"] as? String))))
        case "float32": return .float32(Float(try XCTUnwrap(number).doubleValue))
        case "float64": return .float64(try XCTUnwrap(number).doubleValue)
        case "bool": return .bool(try XCTUnwrap(number).boolValue)
        case "string": return .string(try XCTUnwrap(description["value"] as? String))
        default: return try XCTUnwrap(nil, "unknown type \(type) in gguf_expected.json")
        }
    }

    func testEveryMetadataValueType() throws {
        let expected = try GGUFExpected.section("types")
        let path = Fixtures.path("gguf_types.gguf")
        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, expected["alignment"] as? Int)
        XCTAssertEqual(file.dataOffset, expected["data_start"] as? Int)
        XCTAssertEqual(file.metadataKeys, expected["metadata_keys"] as? [String])
        let metadata = try XCTUnwrap(expected["metadata"] as? [String: [String: Any]])
        XCTAssertEqual(file.metadata.count, metadata.count)
        for (key, description) in metadata {
            XCTAssertEqual(file.metadata[key], try expectedValue(description), key)
        }

        XCTAssertEqual(try file.string("test.string"), "h\u{e9}llo \u{2713}")
        XCTAssertEqual(try file.int("test.uint32"), 4_000_000_000)
        XCTAssertEqual(try file.int("test.int8"), -100)
        XCTAssertEqual(try file.int("test.int64"), -(1 << 40))
        XCTAssertEqual(try file.float("test.float32"), Double(Float(0.1)))
        XCTAssertEqual(try file.float("test.float64"), 0.1)
        XCTAssertEqual(try file.bool("test.bool"), true)
        XCTAssertEqual(try file.strings("test.strings"), ["a", "", "\u{120}Hello"])
        XCTAssertEqual(try file.ints("test.int32s"), [1, -2, 3])
        XCTAssertEqual(try file.ints("test.uint8s"), [7, 255])
        XCTAssertEqual(try file.ints("test.empty"), [])

        assertCheckpointError(try file.int("test.uint64"), path: path,
                              mentioning: ["metadata 'test.uint64' is uint64 9223372036854775813, expected an integer that fits Int"])
        assertCheckpointError(try file.string("test.uint8"), path: path, mentioning: ["metadata 'test.uint8' is uint8 200, expected a string"])
        assertCheckpointError(try file.strings("test.int32s"), path: path, mentioning: ["is array of 3 int32, expected an array of strings"])
        assertCheckpointError(try file.float("test.string"), path: path, mentioning: ["is string \"h\u{e9}llo \u{2713}\", expected a float"])
        assertCheckpointError(try file.int("llama.block_count"), path: path, mentioning: ["metadata key 'llama.block_count' is missing"])
    }

    func testEveryDequantisedTensorType() throws {
        let expected = try XCTUnwrap(try GGUFExpected.section("types")["tensors"] as? [[String: Any]])
        let file = try GGUFFile(path: Fixtures.path("gguf_types.gguf"))
        XCTAssertEqual(file.tensors.map(\.name), expected.compactMap { $0["name"] as? String })
        for entry in expected {
            let name = try XCTUnwrap(entry["name"] as? String)
            let info = try file.tensorInfo(name)
            XCTAssertEqual(info.type.name, entry["type"] as? String, name)
            XCTAssertTrue(info.type.canDequantise, name)
            XCTAssertEqual(info.ne, entry["ne"] as? [Int], name)
            XCTAssertEqual(info.shape, entry["shape"] as? [Int], name)
            XCTAssertEqual(info.offset % 64, 0, "aligned to general.alignment: \(name)")
            XCTAssertEqual(sha256Hex(of: try file.rawData(of: name)), entry["raw_sha256"] as? String, name)

            let tensor = try file.tensor(name)
            XCTAssertEqual(tensor.shape, info.shape, name)
            let values = try floatArray(entry["values"])
            // Bit patterns, so a -0 or a last-bit difference would show.
            XCTAssertEqual(tensor.data.map(\.bitPattern), values.map(\.bitPattern), name)
        }
    }

    func testTinyLlamaUnpermutesQueryAndKeyRows() throws {
        let expected = try GGUFExpected.section("tiny_llama")
        let path = Fixtures.path("gguf_tiny_llama.gguf")
        let (stateDict, config, tokenizer) = try loadGGUFLlama(path)

        let expectedConfig = try XCTUnwrap(expected["config"] as? [String: Any])
        XCTAssertEqual(config.layerCount, expectedConfig["block_count"] as? Int)
        XCTAssertEqual(config.hiddenSize, expectedConfig["embedding_length"] as? Int)
        XCTAssertEqual(config.intermediateSize, expectedConfig["feed_forward_length"] as? Int)
        XCTAssertEqual(config.attentionHeadCount, expectedConfig["head_count"] as? Int)
        XCTAssertEqual(config.keyValueHeadCount, expectedConfig["head_count_kv"] as? Int)
        XCTAssertEqual(config.headDim, expectedConfig["head_dim"] as? Int)
        XCTAssertEqual(config.ropeDimensionCount, expectedConfig["rope_dimension_count"] as? Int)
        XCTAssertEqual(config.ropeTheta, 10000)
        XCTAssertEqual(config.rmsNormEpsilon, Float(1e-6))
        XCTAssertEqual(config.contextLength, expectedConfig["context_length"] as? Int)
        XCTAssertEqual(config.vocabSize, expectedConfig["vocab_size"] as? Int)
        XCTAssertFalse(config.tiedEmbeddings)

        let expectedTokenizer = try XCTUnwrap(expected["tokenizer"] as? [String: Any])
        XCTAssertEqual(tokenizer.model, "gpt2")
        XCTAssertEqual(tokenizer.preTokenizer, "smollm")
        XCTAssertEqual(tokenizer.tokens, expectedTokenizer["tokens"] as? [String])
        XCTAssertEqual(tokenizer.merges, expectedTokenizer["merges"] as? [String])
        XCTAssertEqual(tokenizer.tokenTypes, expectedTokenizer["token_types"] as? [Int])
        XCTAssertEqual(tokenizer.controlTokenIDs, [0, 1, 2])
        XCTAssertEqual(tokenizer.bosTokenID, 1)
        XCTAssertEqual(tokenizer.eosTokenID, 2)
        XCTAssertEqual(tokenizer.unknownTokenID, 0)
        XCTAssertNil(tokenizer.paddingTokenID)
        XCTAssertEqual(tokenizer.addBOSToken, false)
        XCTAssertNil(tokenizer.addSpacePrefix)
        XCTAssertEqual(tokenizer.chatTemplate, expectedTokenizer["chat_template"] as? String)

        let tensors = try XCTUnwrap(expected["tensors"] as? [[String: Any]])
        XCTAssertEqual(stateDict.keys, tensors.compactMap { $0["name"] as? String })
        for entry in tensors {
            let name = try XCTUnwrap(entry["name"] as? String)
            let tensor = try stateDict.tensor(name)
            XCTAssertEqual(tensor.shape, entry["shape"] as? [Int], name)
            XCTAssertEqual(Array(tensor.data.prefix(8)), try floatArray(entry["head"]), name)
            XCTAssertEqual(sha256OfFloats(tensor.data), entry["sha256"] as? String, name)
        }

        // loadCheckpoint recognises GGUF and gives the same Hugging Face state dict.
        let sniffed = try loadCheckpoint(path)
        XCTAssertEqual(sniffed.keys, stateDict.keys)
        XCTAssertEqual(sniffed.tensors, stateDict.tensors)
    }

    /// Files of other architectures keep their GGUF tensor names.
    func testLoadCheckpointOfNonLlamaGGUF() throws {
        let path = Fixtures.path("gguf_types.gguf")
        let stateDict = try loadCheckpoint(path)
        let file = try GGUFFile(path: path)
        XCTAssertEqual(stateDict.keys, file.tensors.map(\.name))
        XCTAssertEqual(try stateDict.tensor("q4_1.weight"), try file.tensor("q4_1.weight"))
        assertCheckpointError(try loadGGUFLlama(path), path: path, mentioning: ["general.architecture is 'fixture', not 'llama'"])
    }
}

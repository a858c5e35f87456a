import Checkpoints
import Foundation
import TensorMath
import XCTest

/// The real SmolLM2-135M-Instruct Q4_1 GGUF against ../shared/parity/smollm2-135m/parity.h5
/// (its facts copied to Fixtures/gguf_expected.json).
final class GGUFSmolLM2Tests: XCTestCase {
    func testHeaderMetadataAndTensorDirectory() throws {
        let path = try SmolLM2GGUF.path()
        let expected = try SmolLM2GGUF.expected()
        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.tensors.count, 272)
        XCTAssertEqual(file.metadata.count, 33)
        XCTAssertEqual(file.metadataKeys.count, 33)
        XCTAssertEqual(file.alignment, 32)
        XCTAssertNil(file.metadata["general.alignment"])
        XCTAssertEqual(file.dataOffset, 1_785_664)

        // Every scalar metadata value parity.h5 records (the long arrays are summarised there).
        let metadata = try XCTUnwrap(expected["metadata"] as? [String: Any])
        var compared = 0
        for (key, value) in metadata where !key.hasPrefix("GGUF.") {
            let actual = try file.value(key)
            switch actual {
            case .string(let text): XCTAssertEqual(text, value as? String, key)
            case .bool(let flag): XCTAssertEqual(flag, (value as? NSNumber)?.boolValue, key)
            case .float32, .float64: XCTAssertEqual(actual.doubleValue, (value as? NSNumber)?.doubleValue, key)
            case .array: XCTAssertEqual(try file.strings(key), value as? [String], key)
            default: XCTAssertEqual(actual.intValue, (value as? NSNumber)?.intValue, key)
            }
            compared += 1
        }
        XCTAssertEqual(compared, 30)  // the 33 keys less the three long tokenizer arrays
        XCTAssertEqual(metadata["GGUF.kv_count"] as? Int, file.metadata.count)

        let names = try XCTUnwrap(expected["tensor_names"] as? [String])
        let types = try XCTUnwrap(expected["tensor_types"] as? [String])
        let ne = try XCTUnwrap(expected["tensor_ne"] as? [[Int]])
        let relative = try intArray(expected["tensor_offset_rel"])
        let absolute = try intArray(expected["tensor_offset_abs"])
        XCTAssertEqual(file.tensors.map(\.name), names)
        for (index, info) in file.tensors.enumerated() {
            XCTAssertEqual(info.type.name, types[index], info.name)
            // parity.h5 pads 1-D tensors' ne with a 1.
            XCTAssertEqual(info.ne + Array(repeating: 1, count: 2 - info.ne.count), ne[index], info.name)
            XCTAssertEqual(info.offset, relative[index], info.name)
            XCTAssertEqual(file.dataOffset + info.offset, absolute[index], info.name)
        }
        XCTAssertEqual(Dictionary(grouping: file.tensors, by: \.type.name).mapValues(\.count), ["Q8_0": 1, "Q4_1": 210, "F32": 61])
    }

    func testDequantisationExamplesInGGUFOrder() throws {
        let file = try GGUFFile(path: try SmolLM2GGUF.path())
        let examples = try XCTUnwrap(try SmolLM2GGUF.expected()["dequant_examples"] as? [String: [String: Any]])
        XCTAssertEqual(Set(examples.keys), ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_norm.weight"])
        for (name, example) in examples {
            let rawPrefix = try intArray(example["raw_bytes_first_blocks"])
            XCTAssertEqual(try file.rawData(of: name).prefix(rawPrefix.count).map(Int.init), rawPrefix, name)
            // GGUFFile.tensor keeps the file's row order (no Q/K un-permutation).
            let values = try floatArray(example["first_64_values_gguf_order"])
            XCTAssertEqual(Array(try file.tensor(name).data.prefix(64)).map(\.bitPattern), values.map(\.bitPattern), name)
        }
    }

    func testEveryTensorMatchesReferenceSha256() throws {
        let path = try SmolLM2GGUF.path()
        let expected = try SmolLM2GGUF.expected()
        let start = Date()
        let (stateDict, config, _) = try loadGGUFLlama(path)
        print("loadGGUFLlama: 272 tensors dequantised in \(String(format: "%.3f", Date().timeIntervalSince(start))) s")

        let hfNames = try XCTUnwrap(expected["hf_names"] as? [String])
        let digests = try XCTUnwrap(expected["hf_fp32_sha256"] as? [String])
        XCTAssertEqual(stateDict.keys, hfNames)
        XCTAssertEqual(stateDict.parameterCount, 134_515_008)
        let tensors = try hfNames.map { try stateDict.tensor($0) }
        // 540 MB to hash: one tensor per task, on every core.
        let computed = [String](unsafeUninitializedCapacity: tensors.count) { buffer, count in
            DispatchQueue.concurrentPerform(iterations: tensors.count) { index in
                (buffer.baseAddress! + index).initialize(to: sha256OfFloats(tensors[index].data))
            }
            count = tensors.count
        }
        for (index, name) in hfNames.enumerated() {
            XCTAssertEqual(computed[index], digests[index], name)
        }
        XCTAssertFalse(stateDict.contains("lm_head.weight"))

        XCTAssertEqual(config, try GGUFLlamaConfig(GGUFFile(path: path)))
        XCTAssertEqual(config.layerCount, 30)
        XCTAssertEqual(config.hiddenSize, 576)
        XCTAssertEqual(config.intermediateSize, 1536)
        XCTAssertEqual(config.attentionHeadCount, 9)
        XCTAssertEqual(config.keyValueHeadCount, 3)
        XCTAssertEqual(config.headDim, 64)
        XCTAssertEqual(config.ropeDimensionCount, 64)
        XCTAssertEqual(config.ropeTheta, 100_000)
        XCTAssertEqual(config.rmsNormEpsilon, Float(1e-5))
        XCTAssertEqual(config.contextLength, 8192)
        XCTAssertEqual(config.vocabSize, 49152)
        XCTAssertTrue(config.tiedEmbeddings)
    }

    /// The un-permutation against parity.h5's own row map: hf_q[r] = gguf_q[perm[r]].
    func testQueryAndKeyRowsFollowTheReferencePermutation() throws {
        let path = try SmolLM2GGUF.path()
        let permutation = try intArray(try SmolLM2GGUF.expected()["q_row_perm_hf_from_gguf"])
        XCTAssertEqual(permutation.count, 576)
        let file = try GGUFFile(path: path)
        let stateDict = try file.llamaStateDict(GGUFLlamaConfig(file))
        for (gguf, hf, rows) in [("blk.7.attn_q.weight", "model.layers.7.self_attn.q_proj.weight", 576),
                                 ("blk.7.attn_k.weight", "model.layers.7.self_attn.k_proj.weight", 192)] {
            let stored = try file.tensor(gguf), unpermuted = try stateDict.tensor(hf)
            XCTAssertEqual(unpermuted.shape, [rows, 576])
            for row in 0 ..< rows {
                XCTAssertEqual(unpermuted[row], stored[permutation[row]], "\(hf) row \(row)")
            }
        }
        // Not permuted: attn_v.
        XCTAssertEqual(try stateDict.tensor("model.layers.7.self_attn.v_proj.weight"), try file.tensor("blk.7.attn_v.weight"))
    }

    func testTokenizerMetadata() throws {
        let path = try SmolLM2GGUF.path()
        let metadata = try XCTUnwrap(try SmolLM2GGUF.expected()["metadata"] as? [String: Any])
        let tokenizer = try GGUFTokenizerMetadata(GGUFFile(path: path))
        XCTAssertEqual(tokenizer.model, "gpt2")
        XCTAssertEqual(tokenizer.preTokenizer, "smollm")
        XCTAssertEqual(tokenizer.tokens.count, 49152)
        XCTAssertEqual(tokenizer.merges.count, 48900)
        XCTAssertEqual(tokenizer.tokenTypes.count, 49152)
        XCTAssertEqual(tokenizer.controlTokenIDs, Array(0 ... 16))
        XCTAssertEqual(tokenizer.tokenTypes.filter { $0 == GGUFTokenizerMetadata.normalTokenType }.count, 49135)
        XCTAssertEqual(Array(tokenizer.tokens.prefix(3)), ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
        XCTAssertEqual(tokenizer.tokens[16], "<empty_output>")
        XCTAssertTrue(tokenizer.merges.allSatisfy { $0.split(separator: " ").count == 2 })
        XCTAssertEqual(tokenizer.bosTokenID, 1)
        XCTAssertEqual(tokenizer.eosTokenID, 2)
        XCTAssertEqual(tokenizer.unknownTokenID, 0)
        XCTAssertEqual(tokenizer.paddingTokenID, 2)
        XCTAssertEqual(tokenizer.addBOSToken, false)
        XCTAssertEqual(tokenizer.addSpacePrefix, false)
        XCTAssertEqual(tokenizer.chatTemplate, metadata["tokenizer.chat_template"] as? String)
        XCTAssertTrue(tokenizer.chatTemplate?.contains("<|im_start|>system\nYou are a helpful AI assistant named SmolLM") == true)
    }

    func testLoadCheckpointSniffsGGUF() throws {
        let path = try SmolLM2GGUF.path()
        let stateDict = try loadCheckpoint(path)
        XCTAssertEqual(stateDict.keys.count, 272)
        XCTAssertEqual(stateDict.keys.first, "model.embed_tokens.weight")
        XCTAssertEqual(stateDict.shape("model.embed_tokens.weight"), [49152, 576])
        XCTAssertEqual(stateDict.shape("model.layers.29.self_attn.k_proj.weight"), [192, 576])
        XCTAssertEqual(stateDict.shape("model.norm.weight"), [576])
    }
}

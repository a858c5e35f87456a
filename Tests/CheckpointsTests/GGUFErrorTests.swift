import Checkpoints
import Foundation
import TestSupport
import XCTest

/// Bad GGUF input throws a one-line CheckpointError naming the file (and the tensor or key).
final class GGUFErrorTests: XCTestCase {
    /// A minimal LLaMA header, for the tests that break one piece of it.
    private func llamaWriter() -> GGUFTestWriter {
        var writer = GGUFTestWriter()
        writer.add("general.architecture", string: "llama")
        for (key, value) in [("block_count", 1), ("context_length", 16), ("embedding_length", 32),
                             ("feed_forward_length", 32), ("attention.head_count", 2)] {
            writer.add("llama." + key, uint32: UInt32(value))
        }
        writer.add("llama.attention.layer_norm_rms_epsilon", float32: 1e-5)
        writer.add("tokenizer.ggml.model", string: "gpt2")
        writer.add("tokenizer.ggml.tokens", strings: ["a", "b"])
        writer.addTensor("token_embd.weight", type: 0, ne: [32, 2], data: Array(repeating: 0, count: 256))
        return writer
    }

    func testUnsupportedTensorType() throws {
        var writer = GGUFTestWriter()
        writer.add("general.architecture", string: "fixture")
        // One Q2_K super-block row (256 values in 84 bytes) and a code ggml does not define.
        writer.addTensor("blk.0.ffn_down.weight", type: 10, ne: [256, 1], data: Array(repeating: 7, count: 84))
        writer.addTensor("mystery", type: 99, ne: [4], data: Array(repeating: 1, count: 16))
        let path = try writeScratchFile("q2_k.gguf", writer.bytes())

        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.tensors.map(\.type), [.q2_K, GGMLType(rawValue: 99)])
        XCTAssertEqual(try file.rawData(of: "blk.0.ffn_down.weight"), Array(repeating: 7, count: 84))
        assertCheckpointError(try file.tensor("blk.0.ffn_down.weight"), path: path,
                              mentioning: ["tensor 'blk.0.ffn_down.weight' has ggml type Q2_K (10), which cannot be dequantised", "supported: F32"])
        assertCheckpointError(try file.tensor("mystery"), path: path, mentioning: ["tensor 'mystery' has ggml type type 99 (99)"])
        assertCheckpointError(try file.rawData(of: "mystery"), path: path, mentioning: ["type 99, whose storage layout is unknown"])
        assertCheckpointError(try file.tensor("absent"), path: path, mentioning: ["no tensor named 'absent' among its 2 tensors"])
        assertCheckpointError(try loadCheckpoint(path), path: path, mentioning: ["'blk.0.ffn_down.weight'", "Q2_K"])
    }

    /// The file's size bounds an array's count, but each element takes ~24 bytes in memory: a
    /// metadata array beyond 2^24 elements is refused before it is read.
    func testOverlongMetadataArray() throws {
        var writer = GGUFTestWriter()
        writer.add("general.architecture", string: "fixture")
        writer.add("padding", uint8s: Array(repeating: 1, count: (1 << 24) + 1))
        let path = try writeScratchFile("long-array.gguf", writer.bytes())
        assertCheckpointError(try GGUFFile(path: path), path: path,
                              mentioning: ["an array of 16,777,217 elements", "longer than the 16,777,216 vlsam reads"])
    }

    func testWrongMagicAndVersion() throws {
        let original = try readBytes(Fixtures.path("gguf_types.gguf"))
        var wrongMagic = original
        wrongMagic[3] = UInt8(ascii: "X")
        let magicPath = try writeScratchFile("magic.gguf", wrongMagic)
        assertCheckpointError(try GGUFFile(path: magicPath), path: magicPath,
                              mentioning: ["not a GGUF file: starts with bytes 47 47 55 58 instead of the magic \"GGUF\""])
        assertCheckpointError(try loadCheckpoint(magicPath), path: magicPath, mentioning: ["nor GGUF"])

        var bigEndian = original
        bigEndian.replaceSubrange(4 ..< 8, with: [0, 0, 0, 3])
        let bigEndianPath = try writeScratchFile("big-endian.gguf", bigEndian)
        assertCheckpointError(try GGUFFile(path: bigEndianPath), path: bigEndianPath,
                              mentioning: ["unsupported GGUF version 50331648 (a big-endian GGUF"])
        var version1 = original
        version1[4] = 1
        let version1Path = try writeScratchFile("v1.gguf", version1)
        assertCheckpointError(try GGUFFile(path: version1Path), path: version1Path, mentioning: ["GGUF v1 is obsolete"])
    }

    /// Every truncation fails cleanly until all tensor data is present (the tail is padding).
    func testEveryTruncationFailsCleanly() throws {
        let original = try readBytes(Fixtures.path("gguf_types.gguf"))
        let file = try GGUFFile(path: Fixtures.path("gguf_types.gguf"))
        let dataEnd = file.tensors.map { file.dataOffset + $0.offset + ($0.byteCount ?? 0) }.max() ?? 0
        let path = try writeScratchFile("cut.gguf", original)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        for length in (1 ..< original.count).reversed() {
            try handle.truncate(atOffset: UInt64(length))
            if length < dataEnd {
                assertCheckpointError(try GGUFFile(path: path), path: path, mentioning: ["truncated"])
            } else {
                XCTAssertEqual(try GGUFFile(path: path).tensor("i64.bias"), try file.tensor("i64.bias"))
            }
            if length == dataEnd - 10 {  // inside the last tensor: the header is intact and the data check names it
                assertCheckpointError(try GGUFFile(path: path), path: path,
                                      mentioning: ["truncated: tensor 'i64.bias' (I64) needs 40 bytes at byte 2,304 but the file has only 2,334 bytes"])
            }
        }
    }

    func testTruncatedRealFile() throws {
        let source = try SmolLM2GGUF.path()
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: source))
        defer { try? handle.close() }
        let firstMegabyte = try XCTUnwrap(try handle.read(upToCount: 1 << 20))
        let path = try writeScratchFile("smollm2-first-1mb.gguf", [UInt8](firstMegabyte))
        // 1 MB ends inside the 49,152 token strings (the header runs to 1.78 MB).
        assertCheckpointError(try GGUFFile(path: path), path: path, mentioning: ["GGUF metadata 'tokenizer.ggml.", "truncated"])
        assertCheckpointError(try loadGGUFLlama(path), path: path, mentioning: ["truncated"])
        assertCheckpointError(try loadCheckpoint(path), path: path, mentioning: ["truncated"])
    }

    /// Flipping any single byte gives a result or a CheckpointError, never a crash.
    func testEverySingleByteCorruptionFailsCleanly() throws {
        let original = try readBytes(Fixtures.path("gguf_tiny_llama.gguf"))
        let path = try writeScratchFile("corrupt.gguf", original)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var failures = 0
        // The header and tensor directory, then every 7th byte of the tensor data.
        let dataOffset = try GGUFFile(path: path).dataOffset
        for position in Array(0 ..< dataOffset) + Array(stride(from: dataOffset, to: original.count, by: 7)) {
            try handle.seek(toOffset: UInt64(position))
            try handle.write(contentsOf: [original[position] ^ 0x5a])
            do {
                _ = try loadGGUFLlama(path)
            } catch let error as CheckpointError {
                failures += 1
                XCTAssertTrue(error.description.hasPrefix(path + ": "), error.description)
                XCTAssertFalse(error.description.contains("\n"), error.description)
            }
            try handle.seek(toOffset: UInt64(position))
            try handle.write(contentsOf: [original[position]])
        }
        XCTAssertGreaterThan(failures, dataOffset / 2)
    }

    func testBadLlamaFiles() throws {
        let missingEpsilon = try writeScratchFile("no-eps.gguf", {
            var writer = llamaWriter()
            writer.metadata.removeAll { $0.key == "llama.attention.layer_norm_rms_epsilon" }
            return writer.bytes()
        }())
        assertCheckpointError(try loadGGUFLlama(missingEpsilon), path: missingEpsilon,
                              mentioning: ["metadata key 'llama.attention.layer_norm_rms_epsilon' is missing"])

        let unknownTensor = try writeScratchFile("rope-freqs.gguf", {
            var writer = llamaWriter()
            writer.addTensor("rope_freqs.weight", type: 0, ne: [16], data: Array(repeating: 0, count: 64))
            return writer.bytes()
        }())
        assertCheckpointError(try loadGGUFLlama(unknownTensor), path: unknownTensor,
                              mentioning: ["tensor 'rope_freqs.weight' has no Hugging Face LLaMA equivalent"])

        let extraLayer = try writeScratchFile("layer-5.gguf", {
            var writer = llamaWriter()
            writer.addTensor("blk.5.attn_norm.weight", type: 0, ne: [32], data: Array(repeating: 0, count: 128))
            return writer.bytes()
        }())
        assertCheckpointError(try loadGGUFLlama(extraLayer), path: extraLayer,
                              mentioning: ["tensor 'blk.5.attn_norm.weight' belongs to layer 5 but llama.block_count is 1"])

        let wrongQueryRows = try writeScratchFile("q-rows.gguf", {
            var writer = llamaWriter()
            writer.addTensor("blk.0.attn_q.weight", type: 0, ne: [32, 30], data: Array(repeating: 0, count: 32 * 30 * 4))
            return writer.bytes()
        }())
        assertCheckpointError(try loadGGUFLlama(wrongQueryRows), path: wrongQueryRows,
                              mentioning: ["tensor 'blk.0.attn_q.weight' has shape [30, 32], expected [32, …] for 2 heads of 16"])

        let wrongVocabulary = try writeScratchFile("vocab.gguf", {
            var writer = llamaWriter()
            writer.add("llama.vocab_size", uint32: 3)
            return writer.bytes()
        }())
        assertCheckpointError(try loadGGUFLlama(wrongVocabulary), path: wrongVocabulary,
                              mentioning: ["token_embd.weight is [2, 32], expected [3, 32]"])

        let misaligned = try writeScratchFile("misaligned.gguf", {
            var writer = llamaWriter()
            writer.add("general.alignment", uint32: 48)
            return writer.bytes()
        }())
        assertCheckpointError(try GGUFFile(path: misaligned), path: misaligned,
                              mentioning: ["general.alignment is uint32 48, not a positive power of two"])
    }
}

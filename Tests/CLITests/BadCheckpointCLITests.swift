import Checkpoints
import Foundation
import Imaging
import TensorMath
import TestSupport
import XCTest

/// Broken checkpoints from the bad-input corpus through the executables: one error line naming
/// the file (and the tensor at fault), a non-zero exit, and nothing left in the output folder.
final class BadCheckpointCLITests: XCTestCase {
    private func corpus(_ name: String) -> String { BadCheckpoint.directory + "/" + name }

    /// Runs `tool` and checks the refusal; `outputs` must stay empty.
    private func assertRefused(_ tool: String, _ arguments: [String], naming fragments: [String], outputs: String,
                               line: UInt = #line) throws {
        let result = try runStage(tool, arguments)
        XCTAssertNotEqual(result.status, 0, "exit status", line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one error line, got: \(result.stderr)", line: line)
        XCTAssertTrue(result.stderr.hasPrefix("\(tool): "), result.stderr, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.stderr.contains(fragment), "'\(fragment)' in: \(result.stderr)", line: line)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outputs), [], "left in \(outputs)", line: line)
    }

    /// The tiny SAM base encodes a photo; the same model with one tensor of block 5 renamed is
    /// refused (it once loaded as a 5-block model and encoded with exit 0), and so are a flipped
    /// storage byte, an absurd storage size and an empty file.
    func testEncodeRefusesBrokenSAMCheckpoints() throws {
        let dir = scratchDirectory()
        let photo = dir + "/photo.png"
        try writePNG(RGBImage(width: 40, height: 30, pixels: (0..<(40 * 30 * 3)).map { UInt8(truncatingIfNeeded: $0 * 7) }), to: photo)
        let good = try runStage("vlsam-encode", ["--checkpoint", corpus("sam_tiny.pth"), "--output", dir + "/good.h5", photo])
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/good.h5"))

        let outputs = dir + "/outputs"
        try FileManager.default.createDirectory(atPath: outputs, withIntermediateDirectories: true)
        for (name, fragment) in [("sam_renamed_block_tensor.pth", "'image_encoder.blocks.5.attn.qkv.weight'"),
                                 ("flipped_tensor_byte.pth", "CRC-32"), ("absurd_storage_size.pth", "tensor 'w'"),
                                 ("zero_bytes.pth", "empty file")] {
            try assertRefused("vlsam-encode", ["--checkpoint", corpus(name), "--output", outputs + "/embedding.h5", photo],
                              naming: [corpus(name) + ": ", fragment], outputs: outputs)
        }
    }

    /// A SmolVLM folder whose weights are truncated, or hold a layer the config does not have.
    func testListRefusesBrokenSmolVLMWeights() throws {
        guard let model = sharedPath("parity/smolvlm-tiny"), let photo = sharedPath("data/samples/truck.jpg") else {
            throw XCTSkip(missingShared("parity/smolvlm-tiny"))
        }
        let dir = scratchDirectory()
        let outputs = dir + "/outputs"
        try FileManager.default.createDirectory(atPath: outputs, withIntermediateDirectories: true)
        for (weights, fragment) in [(corpus("st_truncated.safetensors"), "truncated"),
                                    (try weightsWithExtraLayer(model, in: dir), "'model.text_model.layers.2.input_layernorm.weight'")] {
            let folder = dir + "/model-" + (weights as NSString).lastPathComponent
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for file in try FileManager.default.contentsOfDirectory(atPath: model) where file.hasSuffix(".json") {
                try FileManager.default.createSymbolicLink(atPath: folder + "/" + file, withDestinationPath: model + "/" + file)
            }
            try FileManager.default.createSymbolicLink(atPath: folder + "/model.safetensors", withDestinationPath: weights)
            try assertRefused("vlsam-list", ["--model", folder, "--output", outputs + "/objects.h5", photo],
                              naming: [folder + "/model.safetensors: ", fragment], outputs: outputs)
        }
    }

    /// The bundle's weights plus a third text layer's norm, which its two-layer config does not have.
    private func weightsWithExtraLayer(_ model: String, in dir: String) throws -> String {
        let path = dir + "/extra-layer.safetensors"
        let original = try loadSafetensors(model + "/model.safetensors")
        var tensors = original.keys.map { (name: $0, tensor: original.tensors[$0]!) }
        tensors.append((name: "model.text_model.layers.2.input_layernorm.weight", tensor: Tensor(zeros: [64])))
        try writeSafetensors(tensors, dtype: .float32, to: path)
        return path
    }
}

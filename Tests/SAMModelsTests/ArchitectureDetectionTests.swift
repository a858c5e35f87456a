import Checkpoints
import SAMModels
import TensorMath
import XCTest

/// The checkpoint's tensors decide family and size. Official layouts are rebuilt here with
/// zero-valued encoders of the published sizes around the parity bundles' prompt encoder and decoder.
final class ArchitectureDetectionTests: XCTestCase {
    /// Image-encoder tensors of an official checkpoint layout.
    func encoderEntries(family: ModelFamily, dim: Int, depth: Int, globalBlocks: Set<Int>) -> [(String, [Int])] {
        var entries: [(String, [Int])] = [
            ("image_encoder.patch_embed.proj.weight", [dim, 3, 16, 16]),
            ("image_encoder.patch_embed.proj.bias", [dim]),
            ("image_encoder.pos_embed", family == .sam ? [1, 64, 64, dim] : [1, 197, dim]),
            ("image_encoder.neck.0.weight", [256, dim, 1, 1]),
            ("image_encoder.neck.1.weight", [256]), ("image_encoder.neck.1.bias", [256]),
            ("image_encoder.neck.2.weight", [256, 256, 3, 3]),
            ("image_encoder.neck.3.weight", [256]), ("image_encoder.neck.3.bias", [256]),
        ]
        let (fc1, fc2) = family == .sam ? ("lin1", "lin2") : ("fc1", "fc2")
        for i in 0..<depth {
            let p = "image_encoder.blocks.\(i)."
            entries += [
                (p + "norm1.weight", [dim]), (p + "norm1.bias", [dim]),
                (p + "norm2.weight", [dim]), (p + "norm2.bias", [dim]),
                (p + "attn.qkv.weight", [3 * dim, dim]), (p + "attn.qkv.bias", [3 * dim]),
                (p + "attn.proj.weight", [dim, dim]), (p + "attn.proj.bias", [dim]),
                (p + "mlp.\(fc1).weight", [4 * dim, dim]), (p + "mlp.\(fc1).bias", [4 * dim]),
                (p + "mlp.\(fc2).weight", [dim, 4 * dim]), (p + "mlp.\(fc2).bias", [dim]),
            ]
            if family == .sam {
                let length = globalBlocks.contains(i) ? 127 : 27
                entries += [(p + "attn.rel_pos_h", [length, 64]), (p + "attn.rel_pos_w", [length, 64])]
            }
        }
        return entries
    }

    func checkpoint(_ bundle: String, family: ModelFamily, dim: Int, depth: Int, globalBlocks: Set<Int>) throws -> StateDict {
        let source = try loadCheckpoint(try bundleFile(bundle))
        var entries = source.keys.filter { !$0.hasPrefix("image_encoder.") }.map { ($0, try! source.tensor($0)) }
        entries += encoderEntries(family: family, dim: dim, depth: depth, globalBlocks: globalBlocks)
            .map { ($0.0, Tensor(zeros: $0.1)) }
        return StateDict(source: "official-layout-\(dim)", entries: entries.map { (name: $0.0, tensor: $0.1) })
    }

    func testSAMViTB() throws {
        let model = try SegmentAnythingModel(stateDict: try checkpoint("parity/sam-small/weights.pth", family: .sam,
                                                                       dim: 768, depth: 12, globalBlocks: [2, 5, 8, 11]))
        XCTAssertEqual(model.name, "sam_vit_b")
        XCTAssertEqual(model.encoder.config.heads, 12)
        XCTAssertEqual(model.encoder.config.globalBlocks, [2, 5, 8, 11])
        XCTAssertEqual(model.encoder.config.windowSize, 14)
    }

    func testEfficientSAMViTS() throws {
        let model = try SegmentAnythingModel(stateDict: try checkpoint("parity/efficientsam-vitt/weights.pt",
                                                                       family: .efficientSAM, dim: 384, depth: 12,
                                                                       globalBlocks: []))
        XCTAssertEqual(model.name, "efficientsam_vits")
        XCTAssertEqual(model.encoder.config.heads, 6)
        XCTAssertEqual(model.encoder.config.globalBlocks.count, 12)
    }

    func testOtherCheckpointsAreRejectedByName() throws {
        // A VLM checkpoint loads as safetensors but is no SAM model.
        let vlm = try bundleFile("parity/smolvlm-tiny/model.safetensors")
        XCTAssertThrowsError(try SegmentAnythingModel(checkpoint: vlm)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.hasPrefix(vlm) && text.contains("not a SAM or EfficientSAM checkpoint"), text)
            XCTAssertFalse(text.contains("\n"))
        }
        // A SAM layout with a tensor of the wrong shape names the tensor.
        var entries = try checkpoint("parity/sam-small/weights.pth", family: .sam, dim: 768, depth: 12,
                                     globalBlocks: [2, 5, 8, 11])
        let broken = entries.keys.map { name -> (name: String, tensor: Tensor) in
            name == "image_encoder.blocks.3.attn.proj.weight" ? (name, Tensor(zeros: [768, 700])) : (name, try! entries.tensor(name))
        }
        entries = StateDict(source: "broken.pth", entries: broken)
        XCTAssertThrowsError(try SegmentAnythingModel(stateDict: entries)) { error in
            XCTAssertTrue(String(describing: error).contains("image_encoder.blocks.3.attn.proj"), "\(error)")
        }
    }
}

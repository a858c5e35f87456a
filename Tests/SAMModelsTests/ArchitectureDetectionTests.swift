import Checkpoints
import SAMModels
import TensorMath
import XCTest

/// The checkpoint's tensors decide family and size. Official layouts are rebuilt with zero-valued
/// encoders of the published sizes around the corpus's full-size prompt encoder and decoder.
final class ArchitectureDetectionTests: XCTestCase {
    func checkpoint(family: ModelFamily, dim: Int, depth: Int, globalBlocks: Set<Int>) throws -> StateDict {
        try OfficialLayout.checkpoint(family: family, dim: dim, depth: depth, globalBlocks: globalBlocks)
    }

    func testSAMViTB() throws {
        let model = try SegmentAnythingModel(stateDict: try checkpoint(family: .sam, dim: 768, depth: 12, globalBlocks: [2, 5, 8, 11]))
        XCTAssertEqual(model.name, "sam_vit_b")
        XCTAssertEqual(model.encoder.config.heads, 12)
        XCTAssertEqual(model.encoder.config.globalBlocks, [2, 5, 8, 11])
        XCTAssertEqual(model.encoder.config.windowSize, 14)
    }

    func testEfficientSAMViTS() throws {
        let model = try SegmentAnythingModel(stateDict: try checkpoint(family: .efficientSAM, dim: 384, depth: 12, globalBlocks: []))
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
        let entries = try checkpoint(family: .sam, dim: 768, depth: 12, globalBlocks: [2, 5, 8, 11]).edited { entries in
            let index = entries.firstIndex { $0.name == "image_encoder.blocks.3.attn.proj.weight" }!
            entries[index].tensor = Tensor(zeros: [768, 700])
        }
        XCTAssertThrowsError(try SegmentAnythingModel(stateDict: entries)) { error in
            XCTAssertTrue(String(describing: error).contains("image_encoder.blocks.3.attn.proj"), "\(error)")
        }
    }

    /// SAM ships no config: an official width with fewer blocks, or global blocks elsewhere, is a
    /// damaged checkpoint, not a smaller model.
    func testOfficialWidthsNeedTheirPublishedBlocks() throws {
        let cases: [(ModelFamily, Int, Int, Set<Int>, String)] = [
            (.sam, 768, 11, [2, 5, 8], "the checkpoint has 11 encoder blocks"),
            (.sam, 768, 12, [2, 5, 8, 10], "global attention in blocks [2, 5, 8, 10]"),
            (.efficientSAM, 192, 11, [], "the checkpoint has 11 encoder blocks, all global"),
        ]
        for (family, dim, depth, global, detail) in cases {
            let damaged = try checkpoint(family: family, dim: dim, depth: depth, globalBlocks: global)
            XCTAssertThrowsError(try SegmentAnythingModel(stateDict: damaged)) { error in
                let text = String(describing: error)
                XCTAssertTrue(text.contains("width \(dim) is \(family == .sam ? "sam_vit_b" : "efficientsam_vitt")'s, which has 12 encoder blocks"), text)
                XCTAssertTrue(text.contains(detail), text)
                XCTAssertFalse(text.contains("\n"), text)
            }
        }
    }
}

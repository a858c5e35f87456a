import Checkpoints
import SAMModels
import TensorMath
import TestSupport
import XCTest

/// Loading a SAM-family checkpoint is strict: every tensor the model needs, with its shape, and
/// nothing else; encoder blocks and decoder layers numbered from 0 without a gap.
final class StrictLoadingTests: XCTestCase {
    /// The corpus's tiny SAM and EfficientSAM bases load; each copy broken in one way (a block
    /// tensor renamed, a whole block missing, a decoder tensor missing, an extra tensor, a decoder
    /// projection of the wrong shape) is refused naming the tensor.
    func testCorpusCheckpoints() throws {
        for item in try BadCheckpoint.corpus(loader: "sam") { item.check(SegmentAnythingModel.init(checkpoint:)) }
    }

    /// What the generator wrote: 8 blocks of width 64, global blocks 3 and 7, 14-token windows.
    func testTinyBaseArchitecture() throws {
        let sam = try SegmentAnythingModel(checkpoint: BadCheckpoint.directory + "/sam_tiny.pth").encoder.config
        XCTAssertEqual([sam.embedDim, sam.depth, sam.windowSize], [64, 8, 14])
        XCTAssertEqual(sam.globalBlocks, [3, 7])
        let efficient = try SegmentAnythingModel(checkpoint: BadCheckpoint.directory + "/efficientsam_tiny.pt")
        XCTAssertEqual(efficient.family, .efficientSAM)
        XCTAssertEqual(efficient.encoder.config.depth, 8)
    }

    /// The block patterns of SAM ViT-B, -L, -H and EfficientSAM (at width 64, to stay cheap):
    /// a renamed tensor of block 5 is missing rather than the end of the encoder, a lone tensor
    /// of one block more needs the rest of that block, and an unknown tensor is refused.
    func testEveryEncoderVariant() throws {
        let variants: [(ModelFamily, depth: Int, global: Set<Int>)] = [
            (.sam, 12, [2, 5, 8, 11]), (.sam, 24, [5, 11, 17, 23]), (.sam, 32, [7, 15, 23, 31]), (.efficientSAM, 12, []),
        ]
        for (family, depth, global) in variants {
            let complete = try OfficialLayout.checkpoint(family: family, dim: 64, depth: depth, globalBlocks: global)
            let model = try SegmentAnythingModel(stateDict: complete)
            XCTAssertEqual(model.encoder.config.depth, depth)
            XCTAssertEqual(model.encoder.config.globalBlocks, family == .sam ? global : Set(0..<depth))

            let qkv = "image_encoder.blocks.5.attn.qkv.weight"
            assertRefused(complete.edited { entries in
                entries[entries.firstIndex { $0.name == qkv }!].name = "image_encoder.blocks.5.attn.qkv.weight_orig"
            }, kind: .missingTensor, tensor: qkv)
            let nextBlock = "image_encoder.blocks.\(depth)."
            assertRefused(complete.edited { $0.append((name: nextBlock + "norm1.weight", tensor: Tensor(zeros: [64]))) },
                          kind: .missingTensor, tensor: nextBlock + (family == .sam ? "attn.rel_pos_h" : "norm1.bias"))
            assertRefused(complete.edited { $0.append((name: "image_encoder.blocks.0.attn.scale", tensor: Tensor(zeros: [1]))) },
                          kind: .unexpectedTensor, tensor: "image_encoder.blocks.0.attn.scale")
        }
    }

    /// A gap in the decoder's layers is named; the decoder's layer count is read like the encoder's.
    func testDecoderLayerGap() throws {
        let complete = try OfficialLayout.checkpoint(family: .sam, dim: 64, depth: 2, globalBlocks: [1])
        let moved = complete.edited { entries in
            for index in entries.indices where entries[index].name.hasPrefix("mask_decoder.transformer.layers.1.") {
                entries[index].name = entries[index].name.replacingOccurrences(of: "layers.1.", with: "layers.2.")
            }
        }
        assertRefused(moved, kind: .missingTensor, tensor: "mask_decoder.transformer.layers.1")
    }

    private func assertRefused(_ stateDict: StateDict, kind: CheckpointError.Kind, tensor: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        assertRefusal(try SegmentAnythingModel(stateDict: stateDict), path: stateDict.source, kind: kind, tensor: tensor,
                      file: file, line: line)
    }
}

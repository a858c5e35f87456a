import Checkpoints
import SAMModels
import TensorMath
import TestSupport

/// Checkpoints in the official key layout with an image encoder of any size: the prompt encoder
/// and mask decoder of the corpus's tiny base (full size, official names), around a zero-valued
/// encoder of the given family, width, depth and global blocks.
enum OfficialLayout {
    /// Image-encoder tensors of an official checkpoint layout.
    static func encoderEntries(family: ModelFamily, dim: Int, depth: Int, globalBlocks: Set<Int>) -> [(String, [Int])] {
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

    static func checkpoint(family: ModelFamily, dim: Int, depth: Int, globalBlocks: Set<Int>) throws -> StateDict {
        let base = BadCheckpoint.directory + (family == .sam ? "/sam_tiny.pth" : "/efficientsam_tiny.pt")
        let source = try loadCheckpoint(base)
        var entries = source.keys.filter { !$0.hasPrefix("image_encoder.") }.map { (name: $0, tensor: source.tensors[$0]!) }
        entries += encoderEntries(family: family, dim: dim, depth: depth, globalBlocks: globalBlocks)
            .map { (name: $0.0, tensor: Tensor(zeros: $0.1)) }
        return StateDict(source: "official-layout-\(family.rawValue)-\(dim)x\(depth)", entries: entries)
    }
}

extension StateDict {
    /// The same tensors with `edit` applied to the (name, tensor) list.
    func edited(_ edit: (inout [(name: String, tensor: Tensor)]) -> Void) -> StateDict {
        var entries = keys.map { (name: $0, tensor: tensors[$0]!) }
        edit(&entries)
        return StateDict(source: source, entries: entries)
    }
}

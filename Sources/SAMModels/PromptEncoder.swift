import Checkpoints
import Foundation
import TensorMath

/// One object's prompt in model-input coordinates (the 1024-pixel frame), as the prompt
/// encoder receives it after the family's coordinate transform.
public struct EncodedPromptInput: Sendable {
    /// (x, y) pairs.
    public var points: [SIMD2<Float>]
    /// 1 foreground, 0 background (SAM adds its own padding label −1; EfficientSAM uses
    /// −1 for padding and 2/3 for box corners).
    public var labels: [Int32]
    /// Box corners (x0, y0, x1, y1) — SAM only; EfficientSAM receives boxes as labelled points.
    public var box: SIMD4<Float>?
    /// Low-resolution mask logits [1, 256, 256] for cascaded refinement (SAM only).
    public var maskInput: Tensor?

    public init(points: [SIMD2<Float>], labels: [Int32], box: SIMD4<Float>? = nil, maskInput: Tensor? = nil) {
        self.points = points
        self.labels = labels
        self.box = box
        self.maskInput = maskInput
    }
}

/// Random Fourier features of normalised coordinates (PositionEmbeddingRandom).
struct FourierPositionEncoding {
    /// [2, 128] Gaussian matrix.
    let gaussian: Tensor

    /// coordinates: (x, y) already divided by the input size, in [0, 1].
    func encode(_ coordinates: [SIMD2<Float>]) -> Tensor {
        let features = gaussian.shape[1]
        var out = Tensor(zeros: [coordinates.count, 2 * features])
        out.data.withUnsafeMutableBufferPointer { o in
            gaussian.data.withUnsafeBufferPointer { g in
                for (n, c) in coordinates.enumerated() {
                    let x = 2 * c.x - 1, y = 2 * c.y - 1
                    for f in 0..<features {
                        let angle = 2 * Float.pi * (x * g[f] + y * g[features + f])
                        o[n * 2 * features + f] = sinf(angle)
                        o[n * 2 * features + features + f] = cosf(angle)
                    }
                }
            }
        }
        return out
    }

    /// The encoding of every cell centre of a side×side grid, CHW [256, side, side].
    func dense(side: Int) -> Tensor {
        var centres: [SIMD2<Float>] = []
        centres.reserveCapacity(side * side)
        for i in 0..<side {
            for j in 0..<side {
                centres.append(SIMD2((Float(j) + 0.5) / Float(side), (Float(i) + 0.5) / Float(side)))
            }
        }
        return transpose2D(encode(centres)).reshaped([2 * gaussian.shape[1], side, side])
    }
}

/// Turns points, boxes and mask inputs into sparse tokens and a dense embedding.
public struct PromptEncoder {
    let family: ModelFamily
    let pe: FourierPositionEncoding
    /// SAM: [negative, positive, box top-left, box bottom-right]; EfficientSAM: [positive,
    /// top-left, bottom-right] plus `invalid` for padding.
    let labelEmbeddings: [Int32: Tensor]
    let paddingEmbedding: Tensor
    let noMaskEmbedding: Tensor?
    let maskDownscaling: (conv1: (Tensor, Tensor), norm1: LayerNorm, conv2: (Tensor, Tensor),
                          norm2: LayerNorm, conv3: (Tensor, Tensor))?
    let inputSize: Float = 1024
    let embeddingSide = 64

    init(_ w: WeightReader, family: ModelFamily) throws {
        self.family = family
        pe = FourierPositionEncoding(gaussian: try w("pe_layer.positional_encoding_gaussian_matrix", shape: [2, 128]))
        switch family {
        case .sam:
            labelEmbeddings = [
                0: try w("point_embeddings.0.weight", shape: [1, 256]),
                1: try w("point_embeddings.1.weight", shape: [1, 256]),
                2: try w("point_embeddings.2.weight", shape: [1, 256]),
                3: try w("point_embeddings.3.weight", shape: [1, 256]),
            ]
            paddingEmbedding = try w("not_a_point_embed.weight", shape: [1, 256])
            noMaskEmbedding = try w("no_mask_embed.weight", shape: [1, 256])
            let d = w.scoped("mask_downscaling")
            maskDownscaling = (
                conv1: (try d("0.weight", shape: [4, 1, 2, 2]), try d("0.bias", shape: [4])),
                norm1: try LayerNorm(d.scoped("1"), width: 4, eps: 1e-6),
                conv2: (try d("3.weight", shape: [16, 4, 2, 2]), try d("3.bias", shape: [16])),
                norm2: try LayerNorm(d.scoped("4"), width: 16, eps: 1e-6),
                conv3: (try d("6.weight", shape: [256, 16, 1, 1]), try d("6.bias", shape: [256])))
        case .efficientSAM:
            labelEmbeddings = [
                1: try w("point_embeddings.weight", shape: [1, 256]),
                2: try w("bbox_top_left_embeddings.weight", shape: [1, 256]),
                3: try w("bbox_bottom_right_embeddings.weight", shape: [1, 256]),
            ]
            paddingEmbedding = try w("invalid_points.weight", shape: [1, 256])
            noMaskEmbedding = nil
            maskDownscaling = nil
        }
    }

    /// `get_dense_pe()`: the positional encoding of the image embedding grid.
    public func densePositionalEncoding() -> Tensor { pe.dense(side: embeddingSide) }

    /// Sparse tokens [T, 256].
    public func sparseEmbedding(_ prompt: EncodedPromptInput) -> Tensor {
        var coords = prompt.points
        var labels = prompt.labels
        switch family {
        case .sam:
            if prompt.box == nil {
                // A lone set of points gets one "not a point" token.
                coords.append(SIMD2(0, 0))
                labels.append(-1)
            }
            if let box = prompt.box {
                coords.append(SIMD2(box[0], box[1])); labels.append(2)
                coords.append(SIMD2(box[2], box[3])); labels.append(3)
            }
        case .efficientSAM:
            break
        }
        var tokens = pe.encode(coords.map { ($0 + 0.5) / inputSize })
        tokens.data.withUnsafeMutableBufferPointer { t in
            for (n, label) in labels.enumerated() {
                let row = t.baseAddress! + n * 256
                if label == -1 {
                    // SAM zeroes the padding point's encoding; EfficientSAM keeps it.
                    if family == .sam { row.update(repeating: 0, count: 256) }
                    for i in 0..<256 { row[i] += paddingEmbedding.data[i] }
                } else if let embedding = labelEmbeddings[label] {
                    for i in 0..<256 { row[i] += embedding.data[i] }
                }
            }
        }
        return tokens
    }

    /// Dense embedding [256, 64, 64] (SAM): the mask input through the downscaling stack, or
    /// `no_mask_embed` everywhere. nil for EfficientSAM, which has no dense prompt.
    public func denseEmbedding(maskInput: Tensor?) -> Tensor? {
        guard let noMaskEmbedding, let stack = maskDownscaling else { return nil }
        guard let maskInput else {
            let plane = embeddingSide * embeddingSide
            return Tensor(shape: [256, embeddingSide, embeddingSide]) { out in
                for c in 0..<256 {
                    (out.baseAddress! + c * plane).update(repeating: noMaskEmbedding.data[c], count: plane)
                }
            }
        }
        var x = conv2d(maskInput.reshaped([1, 256, 256]), weight: stack.conv1.0, bias: stack.conv1.1, stride: 2)
        x = stack.norm1.channels(x)
        geluInPlace(&x)
        x = conv2d(x, weight: stack.conv2.0, bias: stack.conv2.1, stride: 2)
        x = stack.norm2.channels(x)
        geluInPlace(&x)
        return conv2d(x, weight: stack.conv3.0, bias: stack.conv3.1)
    }
}

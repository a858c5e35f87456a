import Checkpoints
import TensorMath

/// Which reference the encoder follows; they share the ViT but differ in the details below.
public enum ModelFamily: String, Sendable {
    /// facebookresearch/segment-anything: absolute 64x64 position embedding, windowed blocks
    /// with decomposed relative positions, MLP named lin1/lin2.
    case sam
    /// yformer/EfficientSAM: 14x14 pretraining position embedding with a cls slot (bicubic to
    /// 64x64), all blocks global, no relative positions, MLP named fc1/fc2.
    case efficientSAM = "efficientsam"
}

/// Size and shape of a ViT image encoder, read off a checkpoint's tensors.
public struct ImageEncoderConfig: Sendable, Equatable {
    public var family: ModelFamily
    public var embedDim: Int
    public var depth: Int
    public var heads: Int
    /// Side of the attention window of windowed blocks (SAM only).
    public var windowSize: Int
    /// Blocks attending over all 64x64 tokens; the rest use windows.
    public var globalBlocks: Set<Int>
    public var patchSize = 16
    public var imageSize = 1024
    public var outChannels = 256

    public var gridSize: Int { imageSize / patchSize }
}

/// One transformer block: pre-norm attention and MLP, both residual.
struct ViTBlock {
    let norm1: LayerNorm, norm2: LayerNorm
    let qkv: Linear, proj: Linear
    let fc1: Linear, fc2: Linear
    let heads: Int
    /// 0 for global attention.
    let window: Int
    /// Decomposed relative position tables [2·size−1, headDim] (SAM).
    let relPosH: Tensor?, relPosW: Tensor?

    init(_ w: WeightReader, config: ImageEncoderConfig, index: Int) throws {
        let dim = config.embedDim
        norm1 = try LayerNorm(w.scoped("norm1"), width: dim, eps: 1e-6)
        norm2 = try LayerNorm(w.scoped("norm2"), width: dim, eps: 1e-6)
        qkv = try Linear(w.scoped("attn.qkv"), shape: [3 * dim, dim])
        proj = try Linear(w.scoped("attn.proj"), shape: [dim, dim])
        let mlpNames = config.family == .sam ? ("lin1", "lin2") : ("fc1", "fc2")
        fc1 = try Linear(w.scoped("mlp." + mlpNames.0), shape: [4 * dim, dim])
        fc2 = try Linear(w.scoped("mlp." + mlpNames.1), shape: [dim, 4 * dim])
        heads = config.heads
        window = config.globalBlocks.contains(index) ? 0 : config.windowSize
        if config.family == .sam {
            let side = window > 0 ? window : config.gridSize
            let headDim = dim / heads
            relPosH = try w("attn.rel_pos_h", shape: [2 * side - 1, headDim])
            relPosW = try w("attn.rel_pos_w", shape: [2 * side - 1, headDim])
        } else {
            relPosH = nil
            relPosW = nil
        }
    }

    /// x: tokens [side·side, C] in raster order.
    func callAsFunction(_ x: Tensor, side: Int) -> Tensor {
        var y = x
        addInPlace(&y, proj(attention(norm1(x), side: side)))
        var hidden = fc1(norm2(y))
        geluInPlace(&hidden)
        addInPlace(&y, fc2(hidden))
        return y
    }

    private func attention(_ x: Tensor, side: Int) -> Tensor {
        guard window > 0 else { return attend(tokens: x, side: side) }
        // Zero-pad the normalised tokens to a multiple of the window (bottom/right); the padded
        // tokens are not masked and take part as keys and values, as in the reference.
        let dim = x.shape[1]
        let padded = (side + window - 1) / window * window
        let windowsPerSide = padded / window
        var out = Tensor(zeros: [side * side, dim])
        var windowTokens = [Float](repeating: 0, count: window * window * dim)
        for wy in 0..<windowsPerSide {
            for wx in 0..<windowsPerSide {
                windowTokens.withUnsafeMutableBufferPointer { dst in
                    x.data.withUnsafeBufferPointer { src in
                        for i in 0..<window {
                            let row = wy * window + i
                            for j in 0..<window {
                                let col = wx * window + j
                                let d = dst.baseAddress! + (i * window + j) * dim
                                if row < side && col < side {
                                    d.update(from: src.baseAddress! + (row * side + col) * dim, count: dim)
                                } else {
                                    d.update(repeating: 0, count: dim)
                                }
                            }
                        }
                    }
                }
                let result = attend(tokens: Tensor(shape: [window * window, dim], data: windowTokens), side: window)
                out.data.withUnsafeMutableBufferPointer { dst in
                    result.data.withUnsafeBufferPointer { src in
                        for i in 0..<window {
                            let row = wy * window + i
                            guard row < side else { break }
                            for j in 0..<window {
                                let col = wx * window + j
                                guard col < side else { break }
                                (dst.baseAddress! + (row * side + col) * dim)
                                    .update(from: src.baseAddress! + (i * window + j) * dim, count: dim)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Multi-head self-attention over a square grid of tokens (without the output projection).
    private func attend(tokens: Tensor, side: Int) -> Tensor {
        let packed = qkv(tokens)
        guard let relPosH, let relPosW else {
            return multiHeadAttention(packedQKV: packed, heads: heads)
        }
        let terms = RelativePositionTerms(packedQKV: packed, heads: heads, side: side, tableH: relPosH, tableW: relPosW)
        return multiHeadAttention(packedQKV: packed, heads: heads) { head, rowStart, rows, keyStart, keyCount, scores, ld in
            terms.add(head: head, rowStart: rowStart, rows: rows, keys: keyStart ..< keyStart + keyCount, scores: scores, ld: ld)
        }
    }
}

/// SAM's decomposed relative position logits for a side×side grid:
/// logit[(qh,qw),(kh,kw)] += q·Rh[qh−kh+side−1] + q·Rw[qw−kw+side−1], with the unscaled q.
struct RelativePositionTerms {
    let side: Int
    /// [heads, side·side, side] each: the height and width terms of every query.
    let height: [Float], width: [Float]

    /// `packedQKV`: [side·side, 3·C], the queries in the first C columns.
    init(packedQKV: Tensor, heads: Int, side: Int, tableH: Tensor, tableW: Tensor) {
        self.side = side
        let n = side * side, rowStride = packedQKV.shape[1], headDim = rowStride / 3 / heads
        // Reversing a table turns the rows needed by one query row into a contiguous block:
        // Rh[qh−kh+side−1] = reversed[side−1−qh+kh].
        let reversedH = Self.reversedRows(tableH), reversedW = Self.reversedRows(tableW)
        var height = [Float](repeating: 0, count: heads * n * side)
        var width = [Float](repeating: 0, count: heads * n * side)
        packedQKV.data.withUnsafeBufferPointer { pq in
        reversedH.withUnsafeBufferPointer { rh in
        reversedW.withUnsafeBufferPointer { rw in
        height.withUnsafeMutableBufferPointer { ph in
        width.withUnsafeMutableBufferPointer { pw in
            // Dozens of tiny products per head: the heads run in parallel.
            parallelFor(heads) { _, h in
                let qHead = pq.baseAddress! + h * headDim
                for row in 0..<side {
                    // Queries (row, 0..side) against Rh rows for every key row.
                    gemm(transB: true, m: side, n: side, k: headDim,
                         a: qHead + row * side * rowStride, lda: rowStride,
                         b: rh.baseAddress! + (side - 1 - row) * headDim, ldb: headDim,
                         c: ph.baseAddress! + (h * n + row * side) * side, ldc: side)
                    // Queries (0..side, col=row) against Rw rows for every key column.
                    gemm(transB: true, m: side, n: side, k: headDim,
                         a: qHead + row * rowStride, lda: side * rowStride,
                         b: rw.baseAddress! + (side - 1 - row) * headDim, ldb: headDim,
                         c: pw.baseAddress! + (h * n + row) * side, ldc: side * side)
                }
            }
        }}}}}
        self.height = height
        self.width = width
    }

    private static func reversedRows(_ table: Tensor) -> [Float] {
        let rows = table.shape[0], cols = table.shape[1]
        var out = [Float](repeating: 0, count: table.count)
        for r in 0..<rows {
            for c in 0..<cols { out[r * cols + c] = table.data[(rows - 1 - r) * cols + c] }
        }
        return out
    }

    /// Adds the terms of `rows` queries from `rowStart` against the keys `keys` to `scores`.
    func add(head: Int, rowStart: Int, rows: Int, keys: Range<Int>, scores: UnsafeMutablePointer<Float>, ld: Int) {
        let n = side * side
        height.withUnsafeBufferPointer { ph in
            width.withUnsafeBufferPointer { pw in
                for i in 0..<rows {
                    let query = rowStart + i
                    let hTerms = ph.baseAddress! + (head * n + query) * side
                    let wTerms = pw.baseAddress! + (head * n + query) * side
                    let row = scores + i * ld - keys.lowerBound
                    // Key (kh, kw) is kh·side + kw; the range may start and end inside a key row.
                    for kh in keys.lowerBound / side ... (keys.upperBound - 1) / side {
                        let base = hTerms[kh], first = max(keys.lowerBound - kh * side, 0)
                        let last = min(keys.upperBound - kh * side, side)
                        let segment = row + kh * side
                        for kw in first..<last { segment[kw] += base + wTerms[kw] }
                    }
                }
            }
        }
    }
}

/// The ViT image encoder and neck of SAM and EfficientSAM: a 3x1024x1024 normalised image in,
/// a 256x64x64 embedding out.
public struct ImageEncoder {
    public let config: ImageEncoderConfig
    let patchWeight: Tensor, patchBias: Tensor
    /// Position embedding already at the token grid, HWC [64, 64, C].
    let positionEmbedding: Tensor
    let blocks: [ViTBlock]
    let neckConv1: Tensor, neckNorm1: LayerNorm, neckConv2: Tensor, neckNorm2: LayerNorm

    init(_ w: WeightReader, config: ImageEncoderConfig) throws {
        self.config = config
        let dim = config.embedDim, grid = config.gridSize
        patchWeight = try w("patch_embed.proj.weight", shape: [dim, 3, config.patchSize, config.patchSize])
        patchBias = try w("patch_embed.proj.bias", shape: [dim])
        switch config.family {
        case .sam:
            positionEmbedding = try w("pos_embed", shape: [1, grid, grid, dim]).reshaped([grid, grid, dim])
        case .efficientSAM:
            positionEmbedding = try Self.interpolatedPositionEmbedding(w("pos_embed"), dim: dim, grid: grid,
                                                                      name: w.prefix + "pos_embed", source: w.stateDict.source)
        }
        blocks = try (0..<config.depth).map { try ViTBlock(w.scoped("blocks.\($0)"), config: config, index: $0) }
        neckConv1 = try w("neck.0.weight", shape: [config.outChannels, dim, 1, 1])
        neckNorm1 = try LayerNorm(w.scoped("neck.1"), width: config.outChannels, eps: 1e-6)
        neckConv2 = try w("neck.2.weight", shape: [config.outChannels, config.outChannels, 3, 3])
        neckNorm2 = try LayerNorm(w.scoped("neck.3"), width: config.outChannels, eps: 1e-6)
    }

    /// EfficientSAM stores a 14x14 (+cls) grid from 224-pixel pretraining: drop the cls slot and
    /// resample to the token grid with PyTorch's bicubic (A = −0.75).
    static func interpolatedPositionEmbedding(_ stored: Tensor, dim: Int, grid: Int, name: String, source: String) throws -> Tensor {
        let slots = stored.shape.count == 3 ? stored.shape[1] : 0
        let pretrainSide = Int(Double(max(slots - 1, 0)).squareRoot())
        guard stored.shape == [1, slots, dim], slots > 1, pretrainSide * pretrainSide == slots - 1 else {
            throw CheckpointError(path: source, kind: .wrongShape, tensor: name,
                                  problem: "tensor '\(name)' has shape \(stored.shape), expected [1, 1+n², \(dim)]")
        }
        let hwc = Tensor(shape: [pretrainSide * pretrainSide, dim], data: Array(stored.data[dim...]))
        let chw = transpose2D(hwc).reshaped([dim, pretrainSide, pretrainSide])
        let resized = resizeBicubic(chw, height: grid, width: grid)
        return transpose2D(resized.reshaped([dim, grid * grid])).reshaped([grid, grid, dim])
    }

    /// Runs the encoder. `trace` receives named intermediates (for parity checks):
    /// `patch_embed_out` (CHW), `pos_embed` (HWC), `blockNN_out` ([tokens, C]), `image_embedding` (CHW).
    public func callAsFunction(_ image: Tensor, trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        let dim = config.embedDim, grid = config.gridSize
        let patches = conv2d(image, weight: patchWeight, bias: patchBias, stride: config.patchSize)
        trace?("patch_embed_out", patches)
        trace?("pos_embed", positionEmbedding)
        var tokens = transpose2D(patches.reshaped([dim, grid * grid]))
        addInPlace(&tokens, positionEmbedding.reshaped([grid * grid, dim]))
        for (i, block) in blocks.enumerated() {
            tokens = block(tokens, side: grid)
            trace?("block\(i < 10 ? "0" : "")\(i)_out", tokens)
        }
        let features = transpose2D(tokens).reshaped([dim, grid, grid])
        var neck = neckNorm1.channels(conv2d(features, weight: neckConv1, bias: nil))
        neck = neckNorm2.channels(conv2d(neck, weight: neckConv2, bias: nil, padding: 1))
        trace?("image_embedding", neck)
        return neck
    }
}

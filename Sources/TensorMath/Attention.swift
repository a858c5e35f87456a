/// Adds position-dependent terms to one block of attention logits before the softmax:
/// `scores` holds `rows` query rows (starting at query `rowStart`) × `keyCount` keys (starting
/// at key `keyStart`), rows `ld` apart. Called concurrently for different blocks.
public typealias AttentionLogitBias = (_ head: Int, _ rowStart: Int, _ rows: Int, _ keyStart: Int, _ keyCount: Int,
                                       _ scores: UnsafeMutablePointer<Float>, _ ld: Int) -> Void

/// Queries are attended in blocks of up to this many rows, one block per thread at a time.
public let attentionQueryBlock = 256
/// Keys are taken this many at a time, with a running softmax (as flash attention does): the
/// 256×512 logits of a chunk stay in the core's cache through the exponentials and the product
/// with the values, which made a 4096-token global attention 15% faster than whole rows of logits.
public let attentionKeyChunk = 512

/// Multi-head scaled dot-product attention on token-major matrices.
///
/// `q` is [Nq, heads·dk], `k` is [Nk, heads·dk], `v` is [Nk, heads·dv]; head h uses the
/// column block h. The result is [Nq, heads·dv], heads concatenated as PyTorch does before
/// the output projection. `scale` defaults to 1/√dk.
public func multiHeadAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int,
                               scale: Float? = nil, logitBias: AttentionLogitBias? = nil) -> Tensor {
    precondition(k.shape[1] == q.shape[1] && v.shape[0] == k.shape[0], "attention: q \(q.shape) k \(k.shape) v \(v.shape)")
    return q.data.withUnsafeBufferPointer { pq in
        k.data.withUnsafeBufferPointer { pk in
            v.data.withUnsafeBufferPointer { pv in
                attention(q: MatrixView(pq.baseAddress!, rows: q.shape[0], columns: q.shape[1], stride: q.shape[1]),
                          k: MatrixView(pk.baseAddress!, rows: k.shape[0], columns: k.shape[1], stride: k.shape[1]),
                          v: MatrixView(pv.baseAddress!, rows: v.shape[0], columns: v.shape[1], stride: v.shape[1]),
                          heads: heads, scale: scale, logitBias: logitBias)
            }
        }
    }
}

/// Multi-head self-attention on the output of a fused q|k|v projection, [N, 3·heads·d]
/// (queries, keys and values side by side, as ViT's `qkv` Linear produces them), read in place.
public func multiHeadAttention(packedQKV qkv: Tensor, heads: Int,
                               scale: Float? = nil, logitBias: AttentionLogitBias? = nil) -> Tensor {
    let n = qkv.shape[0], width = qkv.shape[1] / 3
    precondition(qkv.rank == 2 && qkv.shape[1] == 3 * width, "attention: packed q|k|v \(qkv.shape)")
    return qkv.data.withUnsafeBufferPointer { p in
        let view = { (part: Int) in MatrixView(p.baseAddress! + part * width, rows: n, columns: width, stride: 3 * width) }
        return attention(q: view(0), k: view(1), v: view(2), heads: heads, scale: scale, logitBias: logitBias)
    }
}

/// Rows of a row-major matrix that may be a column slice of a wider one.
struct MatrixView {
    let base: UnsafePointer<Float>
    let rows: Int, columns: Int, stride: Int

    init(_ base: UnsafePointer<Float>, rows: Int, columns: Int, stride: Int) {
        self.base = base
        self.rows = rows
        self.columns = columns
        self.stride = stride
    }
}

/// Which keys each query sees: all of them, or, for a decoder's causal attention over a cache
/// of `past` earlier positions, query i sees keys 0 ... past + i.
enum KeyVisibility {
    case all
    case causal(past: Int)
}

/// Attention on matrix views. Query head h reads key/value head h / (heads / kvHeads), as
/// grouped-query attention pairs them (kvHeads = heads for plain multi-head attention). The
/// result is [Nq, heads·dv].
func attention(q: MatrixView, k: MatrixView, v: MatrixView, heads: Int, kvHeads: Int? = nil,
               scale: Float?, visibility: KeyVisibility = .all, logitBias: AttentionLogitBias?) -> Tensor {
    let kvHeads = kvHeads ?? heads, group = heads / kvHeads
    let nq = q.rows, nk = k.rows
    let dk = q.columns / heads, dv = v.columns / kvHeads, outWidth = heads * dv
    precondition(heads % kvHeads == 0 && k.columns == kvHeads * dk && v.rows == nk,
                 "attention: \(heads) heads, \(kvHeads) key/value heads, q \(q.columns) k \(k.columns) v \(v.columns) wide")
    let alpha = scale ?? 1 / Float(dk).squareRoot()
    let blockRows = min(nq, attentionQueryBlock), chunkKeys = max(1, min(nk, attentionKeyChunk))
    let blocksPerHead = (nq + blockRows - 1) / blockRows
    let items = heads * blocksPerHead
    // Packing keys and values costs about what one query row's products do: worth it for
    // many queries, not for a decoded token.
    let panels = panelKernelIsFast && dv % panelWidth == 0 && nq >= 64 ? PanelOperands(k: k, v: v, kvHeads: kvHeads) : nil
    // Logit rows of a chunk are `ld` apart; the panel kernel writes whole tiles of 64 keys.
    let ld = panels == nil ? chunkKeys : (chunkKeys + panelWidth - 1) / panelWidth * panelWidth
    // Per worker: one chunk's logits and the block's running softmax state.
    let scratchSize = blockRows * ld + SoftmaxRowState.scratchSize(rows: blockRows)
    let scratchCount = min(items, computeThreads()) * scratchSize
    var scratch = [Float](unsafeUninitializedCapacity: scratchCount) { _, count in count = scratchCount }
    return Tensor(shape: [nq, outWidth]) { out in
        scratch.withUnsafeMutableBufferPointer { buffer in
            // Each (head, query block) runs start to finish on one thread: the products stay
            // single-threaded, and no thread waits for another between them.
            func attend(worker: Int, item: Int) {
                let head = item / blocksPerHead, start = (item % blocksPerHead) * blockRows
                let rows = min(blockRows, nq - start), kvHead = head / group
                // Keys the block's last query may see; with a causal mask, earlier rows see fewer.
                var lastSeen: (Int) -> Int = { _ in nk - 1 }
                if case .causal(let past) = visibility { lastSeen = { row in past + start + row } }
                let visible = min(nk, lastSeen(rows - 1) + 1)
                let scores = buffer.baseAddress! + worker * scratchSize
                let softmax = SoftmaxRowState(scores + blockRows * ld, rows: rows)
                let queries = q.base + start * q.stride + head * dk
                let result = out.baseAddress! + start * outWidth + head * dv
                for keyStart in stride(from: 0, to: visible, by: chunkKeys) {
                    let keys = min(chunkKeys, visible - keyStart), first = keyStart == 0
                    if let panels {
                        for tile in stride(from: 0, to: keys, by: panelWidth) {
                            panelProduct(rows: rows, depth: dk, a: queries, lda: q.stride,
                                         b: panels.keyTile(head: kvHead, firstKey: keyStart + tile), ldb: panelWidth,
                                         scale: alpha, accumulate: false, c: scores + tile, ldc: ld)
                        }
                    } else {
                        singleThreadedGEMM(transB: true, m: rows, n: keys, k: dk, alpha: alpha,
                                           a: queries, lda: q.stride,
                                           b: k.base + keyStart * k.stride + kvHead * dk, ldb: k.stride,
                                           c: scores, ldc: ld)
                    }
                    for r in 0..<rows where lastSeen(r) < keyStart + keys - 1 {
                        let seen = max(lastSeen(r) + 1 - keyStart, 0)
                        (scores + r * ld + seen).update(repeating: -.infinity, count: keys - seen)
                    }
                    logitBias?(head, start, rows, keyStart, keys, scores, ld)
                    softmax.exponentiate(scores, rows: rows, cols: keys, stride: ld, first: first)
                    if !first {
                        for r in 0..<rows where softmax.rescale[r] != 1 {
                            scaleInPlace(result + r * outWidth, count: dv, by: softmax.rescale[r])
                        }
                    }
                    if let panels {
                        for column in stride(from: 0, to: dv, by: panelWidth) {
                            panelProduct(rows: rows, depth: keys, a: scores, lda: ld,
                                         b: panels.values(head: kvHead, firstKey: keyStart) + column, ldb: dv,
                                         accumulate: !first, c: result + column, ldc: outWidth)
                        }
                    } else {
                        singleThreadedGEMM(m: rows, n: dv, k: keys,
                                           a: scores, lda: ld, b: v.base + keyStart * v.stride + kvHead * dv, ldb: v.stride,
                                           beta: first ? 0 : 1, c: result, ldc: outWidth)
                    }
                }
                // Normalising the dv-wide output instead of the probabilities saves a pass.
                for r in 0..<rows {
                    scaleInPlace(result + r * outWidth, count: dv, by: 1 / softmax.sums[r])
                }
            }
            // A decoded token's attention is a few microseconds: not worth waking a thread.
            if nq * nk * outWidth < 1 << 18 {
                for item in 0..<items { attend(worker: 0, item: item) }
            } else {
                parallelFor(items, attend)
            }
        }
    }
}

/// Keys and values copied into the layouts `panelProduct` streams as its B operand: for each
/// key/value head, keys transposed in tiles of `panelWidth` keys ([dk, panelWidth] per tile,
/// zeros past the last key) and values as a contiguous [nk, dv] matrix.
private final class PanelOperands {
    private let keys: UnsafeMutableBufferPointer<Float>, values: UnsafeMutableBufferPointer<Float>
    private let tilesPerHead: Int, dk: Int, dv: Int, nk: Int

    init(k: MatrixView, v: MatrixView, kvHeads: Int) {
        let nk = k.rows, dk = k.columns / kvHeads, dv = v.columns / kvHeads
        let tilesPerHead = (nk + panelWidth - 1) / panelWidth, tileSize = dk * panelWidth
        (self.nk, self.dk, self.dv, self.tilesPerHead) = (nk, dk, dv, tilesPerHead)
        let keys = UnsafeMutableBufferPointer<Float>.allocate(capacity: kvHeads * tilesPerHead * tileSize)
        let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: kvHeads * nk * dv)
        (self.keys, self.values) = (keys, values)
        parallelFor(kvHeads * tilesPerHead) { _, item in
            let head = item / tilesPerHead, firstKey = (item % tilesPerHead) * panelWidth
            let tileKeys = min(panelWidth, nk - firstKey)
            let tile = keys.baseAddress! + item * tileSize, source = k.base + firstKey * k.stride + head * dk
            for d in 0..<dk {
                let row = tile + d * panelWidth
                for j in 0..<tileKeys { row[j] = source[j * k.stride + d] }
                (row + tileKeys).initialize(repeating: 0, count: panelWidth - tileKeys)
            }
            for key in firstKey ..< firstKey + tileKeys {
                (values.baseAddress! + (head * nk + key) * dv).initialize(from: v.base + key * v.stride + head * dv, count: dv)
            }
        }
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// The [dk, panelWidth] tile of transposed keys starting at `firstKey` (a multiple of panelWidth).
    func keyTile(head: Int, firstKey: Int) -> UnsafePointer<Float> {
        UnsafePointer(keys.baseAddress! + (head * tilesPerHead + firstKey / panelWidth) * dk * panelWidth)
    }

    /// Row `firstKey` of head `head`'s [nk, dv] values.
    func values(head: Int, firstKey: Int) -> UnsafePointer<Float> {
        UnsafePointer(values.baseAddress! + (head * nk + firstKey) * dv)
    }
}

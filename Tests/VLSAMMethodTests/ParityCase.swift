import Artifacts
import TensorMath
import TestSupport
import VLSAMMethod
import XCTest

/// One case group of ../shared/parity/vlsam-attention/parity.h5: its post-RoPE queries and keys as
/// `LayerAttention`s, its objects artifact, and the default variant's grid maps computed from them
/// by VLSAMMethod.
final class ParityCase {
    static let bundle = "parity/vlsam-attention/parity.h5"
    static let groups = ["split_on", "split_off", "split_off_multi"]

    let group: String
    let file: HDF5File
    let tokens: Int
    let layers: [LayerAttention]
    let imagePositions: [Int]
    let assembly: MapAssembly
    /// Per object, its mentions' spans.
    let spans: [[Range<Int>]]
    let names: [String]
    let height: Int, width: Int

    /// The bundle file, or a skip when ../shared is absent.
    static func bundleFile() throws -> HDF5File {
        guard let path = sharedPath(bundle) else { throw XCTSkip(missingShared(bundle)) }
        return try HDF5File(readingAt: path)
    }

    init(_ group: String) throws {
        self.group = group
        file = try Self.bundleFile()
        let q = try file.readTensor("\(group)/q_post_rope"), k = try file.readTensor("\(group)/k_post_rope")
        let (l, heads, t, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let kvHeads = k.shape[1]
        // (L, H, T, d) → per layer [T, H·d].
        func tokenMajor(_ x: Tensor, layer: Int, heads: Int) -> [Float] {
            var out = [Float](repeating: 0, count: t * heads * d)
            for h in 0..<heads {
                for i in 0..<t {
                    for e in 0..<d { out[(i * heads + h) * d + e] = x.data[((layer * heads + h) * t + i) * d + e] }
                }
            }
            return out
        }
        layers = (0..<l).map { layer in
            LayerAttention(layer: layer, tokens: t, heads: heads, kvHeads: kvHeads, headDim: d,
                           queries: tokenMajor(q, layer: layer, heads: heads), keys: tokenMajor(k, layer: layer, heads: kvHeads))
        }
        tokens = t
        let objects = "\(group)/objects"
        imagePositions = try file.readInt64("\(objects)/image_token_positions").values.map { Int($0) }
        let cells = try file.readInt64("\(objects)/image_token_cell").values.map { Int($0) }
        let grid = try file.readInt64("\(objects)/tile_grid").values.map { Int($0) }
        assembly = MapAssembly(
            tileGrid: stride(from: 0, to: grid.count, by: 2).map { grid[$0] < 0 ? nil : (grid[$0], grid[$0 + 1]) },
            tokenTiles: try file.readInt64("\(objects)/image_token_tile").values.map { Int($0) },
            tokenCells: stride(from: 0, to: cells.count, by: 2).map { (cells[$0], cells[$0 + 1]) },
            gridSide: try XCTUnwrap(file.attributeInt("grid_side", at: objects)))
        let flat = try file.readInt64("\(objects)/object_spans").values.map { Int($0) }
        let offsets = try file.readInt64("\(objects)/object_span_offsets").values.map { Int($0) }
        spans = zip(offsets, offsets.dropFirst()).map { start, end in (start..<end).map { flat[2 * $0] ..< flat[2 * $0 + 1] } }
        names = try file.readStrings("\(objects)/object_names")
        let size = try XCTUnwrap(file.attributeInts("original_size", at: objects))
        (height, width) = (size[0], size[1])
    }

    func doubles(_ dataset: String) throws -> [Double] { try file.readDouble("\(group)/\(dataset)").values }
    func ints(_ dataset: String) throws -> [Int] { try file.readInt64("\(group)/\(dataset)").values.map { Int($0) } }

    /// Every layer fed to `flows`, in order.
    func run(_ flows: AttentionFlow...) {
        for layer in layers { flows.forEach { $0.consume(layer) } }
    }

    /// The default variant's grid map of every object (§4–§7: query both, rollout α 0.9,
    /// column regularisation, tiles both).
    lazy var maps: [AttentionMap] = {
        let flow = AttentionFlow(tokens: tokens, columns: imagePositions)
        run(flow)
        return spans.map { objectSpans in
            let row = flow.row(of: ObjectRows.rows(spans: objectSpans, query: .both))
            return assembly.map(Regularization.column.apply(to: row, columns: imagePositions, tokens: tokens))
        }
    }()

    /// P of object k (§8).
    func prompts(_ object: Int) -> AttentionMap { maps[object].resized(height: height, width: width) }

    /// The parsed cases, read once per test run.
    nonisolated(unsafe) private static var loaded: [String: ParityCase] = [:]
    static func load(_ group: String) throws -> ParityCase {
        if let cached = loaded[group] { return cached }
        let parity = try ParityCase(group)
        loaded[group] = parity
        return parity
    }
}

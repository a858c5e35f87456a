import TestSupport
import VLSAMMethod
import XCTest

/// Attention extraction (§2–§7) against the float64 reference of parity/vlsam-attention, from the
/// bundle's post-RoPE q/k, at its README's suggested float32 tolerances (column A).
final class AttentionParityTests: XCTestCase {
    func testSplitOn() throws { try checkAttention("split_on") }
    func testSplitOff() throws { try checkAttention("split_off") }
    func testSplitOffMulti() throws { try checkAttention("split_off_multi") }

    func testMapsSplitOn() throws { try checkMaps("split_on") }
    func testMapsSplitOff() throws { try checkMaps("split_off") }
    func testMapsSplitOffMulti() throws { try checkMaps("split_off_multi") }

    private func checkAttention(_ group: String) throws {
        let parity = try ParityCase.load(group)
        let t = parity.tokens
        let variants = [AttentionFlow.Variant(kind: .rollout, alpha: 0.9), AttentionFlow.Variant(kind: .mean, alpha: 0.9),
                        AttentionFlow.Variant(kind: .rollout, alpha: 0.5)]
        var rowMaxima: [Float] = [], rowSums: [Float] = [], aggregated: [[Float]] = []
        // All T columns give the whole flow row; the image columns are the path a stage takes.
        let whole = AttentionFlow(tokens: t, columns: Array(0..<t), variants: variants) { layer in
            rowMaxima += layer.headWeights.rowMaxima
            rowSums += layer.rowSums
            aggregated.append(layer.values)
        }
        let image = AttentionFlow(tokens: t, columns: parity.imagePositions, variants: variants)
        parity.run(whole, image)

        assertClose(rowMaxima, try parity.doubles("attn_row_max"), .relative(5e-6), "\(group) attn_row_max")
        assertClose(whole.headWeights.flatMap { $0 }, try parity.doubles("head_weights"), .relative(5e-6), "\(group) head_weights")
        let abar = try parity.doubles("abar")
        for (l, values) in aggregated.enumerated() {
            assertClose(values, Array(abar[l * t * t ..< (l + 1) * t * t]), .relative(1e-6), "\(group) abar[\(l)]")
        }
        assertClose(rowSums, try parity.doubles("abar_rowsum"), .relative(2e-6), "\(group) abar_rowsum")

        for query in QueryRows.allCases {
            let rows = parity.spans.map { ObjectRows.rows(spans: $0, query: query) }
            let flat = try parity.ints("flow/rows_\(query)"), offsets = try parity.ints("flow/rows_\(query)_offsets")
            XCTAssertEqual(rows, zip(offsets, offsets.dropFirst()).map { Array(flat[$0 ..< $1]) }, "\(group) rows(\(query))")
            for kind in FlowKind.allCases {
                try checkFlow(parity, rows: rows, variant: .init(kind: kind, alpha: 0.9), whole: whole, image: image,
                              at: "flow/\(query)/\(kind)")
            }
        }
        try checkFlow(parity, rows: parity.spans.map { ObjectRows.rows(spans: $0, query: .both) },
                      variant: .init(kind: .rollout, alpha: 0.5), whole: whole, image: image, at: "flow/alpha_0.5")
    }

    /// `row` (whole flow row, before regularisation) and the image-token vectors a_none, a_column.
    private func checkFlow(_ parity: ParityCase, rows: [[Int]], variant: AttentionFlow.Variant,
                           whole: AttentionFlow, image: AttentionFlow, at group: String) throws {
        let what = "\(parity.group) \(group)"
        assertClose(rows.flatMap { whole.row(of: $0, variant: variant) }, try parity.doubles("\(group)/row"), .relative(2e-6), "\(what)/row")
        let a = rows.map { image.row(of: $0, variant: variant) }
        assertClose(a.flatMap { $0 }, try parity.doubles("\(group)/a_none"), .relative(5e-6), "\(what)/a_none")
        let regularised = a.flatMap { Regularization.column.apply(to: $0, columns: parity.imagePositions, tokens: parity.tokens) }
        assertClose(regularised, try parity.doubles("\(group)/a_column"), .relative(5e-6), "\(what)/a_column")
    }

    private func checkMaps(_ group: String) throws {
        let parity = try ParityCase.load(group)
        let a = try parity.doubles("flow/both/rollout/a_column")
        let n = parity.imagePositions.count
        // Map assembly from the reference a, so that these checks see §7 alone.
        let vectors = (0..<parity.spans.count).map { k in a[k * n ..< (k + 1) * n].map { Float($0) } }
        func check(_ dataset: String, _ make: ([Float]) -> AttentionMap?) throws {
            let maps = try vectors.map { try XCTUnwrap(make($0), "\(group) maps/\(dataset): no map") }
            assertClose(maps.flatMap(\.values), try parity.doubles("maps/\(dataset)"), .relative(1e-5), "\(group) maps/\(dataset)")
        }
        let assembly = parity.assembly
        try check("global_raw") { assembly.globalGrid($0) }
        try check("final") { assembly.map($0) }
        if assembly.mosaicRows > 0 {
            let side = assembly.gridSide
            try check("local_raw") { assembly.mosaic($0) }
            try check("local_norm") { assembly.mosaic($0)?.minMaxNormalised() }
            try check("global_norm") { assembly.globalGrid($0)?.minMaxNormalised() }
            try check("global_up") {
                assembly.globalGrid($0)?.minMaxNormalised().resized(height: side * assembly.mosaicRows, width: side * assembly.mosaicCols)
            }
            try check("both") { assembly.map($0, tiles: .both) }
            try check("tiles_local") { assembly.map($0, tiles: .local) }
            try check("tiles_global") { assembly.map($0, tiles: .global) }
        }
        // The whole chain from q/k: our own maps, and P of the fire hydrant at the photo's size.
        assertClose(parity.maps.flatMap(\.values), try parity.doubles("maps/final"), .relative(1e-5), "\(group) maps/final from q/k")
        let hydrant = try XCTUnwrap(parity.names.firstIndex(of: "fire hydrant"))
        assertClose(parity.prompts(hydrant).values, try parity.doubles("P/fire_hydrant"), .relative(1e-5), "\(group) P/fire_hydrant")
    }
}

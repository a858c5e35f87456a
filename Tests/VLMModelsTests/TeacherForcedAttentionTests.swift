import Artifacts
import Foundation
import Geometry
import TensorMath
import TestSupport
import VLMModels
import XCTest

/// The teacher-forced forward the attention stage runs: one causal pass over
/// x = input_ids ++ generated_ids of an objects artifact, with the artifact's image features,
/// handing every layer's post-RoPE queries and keys to the typed observer.
final class TeacherForcedAttentionTests: XCTestCase {
    nonisolated(unsafe) static var bundle: SmolVLMBundle?

    func tinyBundle() throws -> SmolVLMBundle {
        guard let directory = sharedPath("parity/smolvlm-tiny") else { throw XCTSkip(missingShared("parity/smolvlm-tiny")) }
        if Self.bundle == nil { Self.bundle = try SmolVLMBundle(directory: directory) }
        return Self.bundle!
    }

    /// [L, heads, T, d] reference layout of one layer's [T, heads·d] rows.
    func headsFirst(_ rows: [Float], tokens: Int, heads: Int, headDim: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: rows.count)
        for h in 0..<heads { for t in 0..<tokens { for i in 0..<headDim {
            out[(h * tokens + t) * headDim + i] = rows[t * heads * headDim + h * headDim + i]
        } } }
        return out
    }

    /// vlsam-attention's q_post_rope and k_post_rope (transformers, float32, eager) for every
    /// position of x, in all three cases, from the stored connector output of smolvlm-tiny's
    /// bundle (the same pixels: the attention bundle checked its prompt q/k against it exactly).
    func testQueriesAndKeysOfTheWholeSequenceMatchTheAttentionBundle() throws {
        let bundle = try tinyBundle()
        guard let attentionPath = sharedPath("parity/vlsam-attention/parity.h5"),
              let tinyPath = sharedPath("parity/smolvlm-tiny/parity.h5") else {
            throw XCTSkip(missingShared("parity/vlsam-attention"))
        }
        let reference = try HDF5File(readingAt: attentionPath), tiny = try HDF5File(readingAt: tinyPath)
        let c = bundle.config.text
        for (group, tinyGroup) in [("split_off", "split_off"), ("split_on", "split_on"), ("split_off_multi", "split_off")] {
            let inputIDs = try reference.readInt64("\(group)/objects/input_ids").values.map(Int.init)
            let generatedIDs = try reference.readInt64("\(group)/objects/generated_ids").values.map(Int.init)
            let sequence = try reference.readInt64("\(group)/sequence_ids").values.map(Int.init)
            XCTAssertEqual(inputIDs + generatedIDs, sequence, group)
            XCTAssertEqual(inputIDs, try tiny.readInt64("\(tinyGroup)/input_ids").values.map(Int.init),
                           "\(group): the connector output belongs to this prompt")
            let connector = try tiny.readTensor("\(tinyGroup)/connector_output")
            let features = Tensor(shape: [connector.count / c.hiddenSize, c.hiddenSize], data: connector.data)
            let positions = try reference.readInt64("\(group)/objects/image_token_positions").values.map(Int.init)
            let gridSide = try XCTUnwrap(try reference.attributeInt("grid_side", at: "\(group)/objects"))
            try bundle.checkListing(inputIDs: inputIDs, generatedIDs: generatedIDs, imageTokenPositions: positions,
                                    gridSide: gridSide, imageFeatures: features, file: group)

            var layers: [LayerAttention] = []
            try bundle.teacherForcedAttention(inputIDs: inputIDs, generatedIDs: generatedIDs, imageFeatures: features,
                                              file: group) { layers.append($0) }
            let t = sequence.count
            XCTAssertEqual(layers.map(\.layer), Array(0..<c.layers), group)
            let q = try reference.readTensor("\(group)/q_post_rope"), k = try reference.readTensor("\(group)/k_post_rope")
            XCTAssertEqual(q.shape, [c.layers, c.heads, t, c.headDim], group)
            XCTAssertEqual(k.shape, [c.layers, c.kvHeads, t, c.headDim], group)
            for layer in layers where layer.layer < c.layers {
                XCTAssertEqual(layer.tokens, t, "\(group): every position, prompt and answer")
                let mineQ = headsFirst(layer.queries, tokens: layer.tokens, heads: c.heads, headDim: c.headDim)
                let mineK = headsFirst(layer.keys, tokens: layer.tokens, heads: c.kvHeads, headDim: c.headDim)
                let refQ = q[layer.layer].data, refK = k[layer.layer].data
                assertClose(mineQ, refQ, .relative(1e-5), "\(group) q_post_rope layer \(layer.layer)")
                assertClose(mineK, refK, .relative(1e-5), "\(group) k_post_rope layer \(layer.layer)")
            }
        }
    }

    /// The same forward with the features coming back from an objects artifact (written, read).
    func testFeaturesRoundTripThroughTheObjectsArtifact() throws {
        let bundle = try tinyBundle()
        guard let tinyPath = sharedPath("parity/smolvlm-tiny/parity.h5") else { throw XCTSkip(missingShared("parity/smolvlm-tiny")) }
        let tiny = try HDF5File(readingAt: tinyPath)
        let ids = try tiny.readInt64("split_off/input_ids").values.map(Int.init)
        let connector = try tiny.readTensor("split_off/connector_output")
        let features = Tensor(shape: [64, 64], data: connector.data)
        let positions = bundle.imageTokenPositions(in: ids)
        let artifact = ObjectsArtifact(
            provenance: Provenance(producer: "TeacherForcedAttentionTests"), originalSize: ImageSize(height: 1200, width: 1800),
            mode: "teacher_forced", imageSplitting: false, promptText: "", inputIDs: ids, imageTokenPositions: positions,
            imageTokenTile: positions.map { _ in 0 }, imageTokenCell: positions.indices.map { ($0 / 8, $0 % 8) }, gridSide: 8,
            tiles: [.init(row: nil, col: nil, rect: [0, 0, 1800, 1200])], generatedIDs: [15038, 28, 49279],
            generatedText: "", objects: [], imageFeatures: features)
        let path = scratchDirectory() + "/objects.h5"
        try artifact.write(to: path)
        let read = try ObjectsArtifact.read(from: path)
        let stored = try XCTUnwrap(read.imageFeatures)
        XCTAssertEqual(stored, features, "image_features round trip bit for bit")

        var fromFile: [LayerAttention] = [], direct: [LayerAttention] = []
        try bundle.checkListing(inputIDs: read.inputIDs, generatedIDs: read.generatedIDs,
                                imageTokenPositions: read.imageTokenPositions, gridSide: read.gridSide,
                                imageFeatures: stored, file: path)
        try bundle.teacherForcedAttention(inputIDs: read.inputIDs, generatedIDs: read.generatedIDs, imageFeatures: stored,
                                          file: path) { fromFile.append($0) }
        try bundle.model.teacherForcedForward(promptIDs: ids, answerIDs: [15038, 28, 49279], imageFeatures: features) {
            direct.append($0)
        }
        XCTAssertEqual(fromFile.map(\.queries), direct.map(\.queries))
        XCTAssertEqual(fromFile.map(\.keys), direct.map(\.keys))
        XCTAssertEqual(fromFile.first?.tokens, ids.count + 3)
    }

    /// An artifact from another model: clear one-line errors naming the file.
    func testListingFromAnotherModelIsRefused() throws {
        let bundle = try tinyBundle()
        let file = "/tmp/foreign.objects.h5"
        let image = bundle.config.imageTokenID, hidden = bundle.config.text.hiddenSize
        let ids = [1, 11126, 42, 49189, 49152] + [Int](repeating: image, count: 64) + [49189, 6106]
        let features = Tensor(zeros: [64, hidden])
        func assertRefused(_ fragment: String, line: UInt = #line, _ body: () throws -> Void) {
            do {
                try body()
                XCTFail("accepted; expected an error about \(fragment)", line: line)
            } catch {
                let message = String(describing: error)
                XCTAssertTrue(message.hasPrefix(file + ": "), message, line: line)
                XCTAssertTrue(message.contains(fragment), message, line: line)
                XCTAssertFalse(message.contains("\n"), message, line: line)
            }
        }
        XCTAssertNoThrow(try bundle.checkListing(inputIDs: ids, generatedIDs: [28], imageFeatures: features, file: file))
        assertRefused("vocabulary of 49280") {
            try bundle.checkListing(inputIDs: ids, generatedIDs: [28, 60_000], imageFeatures: features, file: file)
        }
        assertRefused("vocabulary") { try bundle.checkListing(inputIDs: [-1] + ids, generatedIDs: [], imageFeatures: nil, file: file) }
        assertRefused("text hidden size is \(hidden)") {
            try bundle.checkListing(inputIDs: ids, generatedIDs: [], imageFeatures: Tensor(zeros: [64, 576]), file: file)
        }
        assertRefused("63 image feature rows for 64 image tokens") {
            try bundle.checkListing(inputIDs: ids, generatedIDs: [], imageFeatures: Tensor(zeros: [63, hidden]), file: file)
        }
        assertRefused("whole number of tiles of 64") {
            try bundle.checkListing(inputIDs: Array(ids.dropLast(3)), generatedIDs: [], imageFeatures: nil, file: file)
        }
        assertRefused("grid side 9") {
            try bundle.checkListing(inputIDs: ids, generatedIDs: [], gridSide: 9, imageFeatures: nil, file: file)
        }
        assertRefused("image token positions") {
            try bundle.checkListing(inputIDs: ids, generatedIDs: [], imageTokenPositions: Array(4..<68), imageFeatures: nil, file: file)
        }
        var nan = features
        nan.data[100] = .nan
        assertRefused("NaN") { try bundle.checkListing(inputIDs: ids, generatedIDs: [], imageFeatures: nan, file: file) }
        assertRefused("vocabulary") {
            try bundle.teacherForcedAttention(inputIDs: ids, generatedIDs: [99_999], imageFeatures: features, file: file) { _ in }
        }
    }

    /// Any forward call hands over the queries and keys of every position so far: a prefix, then
    /// token by token on a query-keeping cache, ends with the same layers as one pass.
    func testObserverOnACacheCoversEveryPosition() throws {
        let decoder = try LlamaDecoder(DecoderKernelTests.RandomWeights(quantized: false), lmHead: nil,
                                       config: DecoderKernelTests.config)
        let ids = [3, 17, 5, 39, 0, 22, 8, 8, 11]
        var onePass: [LayerAttention] = []
        let hidden = decoder.teacherForcedForward(embeddings: decoder.embed(ids)) { onePass.append($0) }
        XCTAssertEqual(onePass.map(\.tokens), [9, 9])
        assertClose(hidden, decoder.forward(decoder.embed(ids), cache: decoder.makeCache()), .relative(0), "same forward")

        let cache = decoder.makeCache(reserve: 2, keepingQueries: true)
        var last: [LayerAttention] = []
        var seen: [Int] = []
        _ = decoder.forward(decoder.embed(Array(ids[..<4])), cache: cache) { seen.append($0.tokens) }
        for id in ids[4...] {
            last = []
            _ = decoder.forward(decoder.embed([id]), cache: cache) { last.append($0); seen.append($0.tokens) }
        }
        XCTAssertEqual(seen, [4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9], "each call covers positions 0 ..< cache length")
        XCTAssertEqual(last.count, 2)
        for (stepwise, whole) in zip(last, onePass) {
            assertClose(stepwise.queries, whole.queries, .relative(1e-5), "layer \(whole.layer) queries")
            assertClose(stepwise.keys, whole.keys, .relative(1e-5), "layer \(whole.layer) keys")
        }
    }
}

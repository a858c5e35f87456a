import Artifacts
import Checkpoints
import Foundation
import Geometry
import TensorMath
import TestSupport
import XCTest

/// The VL-SAM chain from the command line on the parity bundles' models:
/// vlsam-list --objects → vlsam-attend → vlsam-points → vlsam-encode → vlsam-decode →
/// vlsam-points --previous-masks → vlsam-decode, checked against ../shared/parity/vlsam-attention
/// where it has numbers, and for bookkeeping everywhere else (random weights: masks mean nothing).
final class AttendPointsCLITests: XCTestCase {
    struct Bundle {
        let vlm: String, photo: String, reference: HDF5File
        let sam: String, efficientSAM: String
    }

    func bundle() throws -> Bundle {
        let needed = ["parity/smolvlm-tiny", "data/samples/truck.jpg", "parity/vlsam-attention/parity.h5",
                      "parity/sam-small/weights.pth", "parity/efficientsam-vitt/weights.pt"]
        let paths = try needed.map { relative in
            guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
            return path
        }
        return Bundle(vlm: paths[0], photo: paths[1], reference: try HDF5File(readingAt: paths[2]),
                      sam: paths[3], efficientSAM: paths[4])
    }

    func succeed(_ tool: String, _ arguments: [String], line: UInt = #line) throws {
        let result = try runStage(tool, arguments)
        XCTAssertEqual(result.status, 0, "\(tool): \(result.stderr)", line: line)
    }

    /// Lists the bundle's objects with the bundle's photo and splitting setting.
    func list(_ b: Bundle, split: Bool, into dir: String) throws -> String {
        let objects = dir + "/truck.objects.h5"
        try succeed("vlsam-list", ["--model", b.vlm, "--output", objects, b.photo,
                                   "--objects", "truck, fire hydrant, window, tire"] + (split ? [] : ["--no-split"]))
        return objects
    }

    func testAttentionAndPointsMatchTheReferenceEndToEnd() throws {
        let b = try bundle()
        for (group, split) in [("split_on", true), ("split_off", false)] {
            let dir = scratchDirectory(#function + group)
            let objects = try list(b, split: split, into: dir)
            let attention = dir + "/truck.attention.h5", prompts = dir + "/truck.prompts.h5"
            try succeed("vlsam-attend", ["--model", b.vlm, "--objects", objects, "--output", attention])
            try succeed("vlsam-points", ["--attention", attention, "--output", prompts])

            // End-to-end tolerances of the bundle's README (column B: a float32 forward's own noise).
            let result = try AttentionArtifact.read(from: attention), r = b.reference
            XCTAssertEqual(result.objects.map(\.name), ["truck", "fire hydrant", "window", "tire"])
            assertClose(result.headWeights, try r.readDouble("\(group)/head_weights").values, .relative(5e-5), "\(group) head_weights")
            assertClose(result.objects.flatMap(\.tokenVector), try r.readDouble("\(group)/flow/both/rollout/a_column").values,
                        .relative(1e-4), "\(group) token vectors")
            let reference = try r.readDouble("\(group)/maps/final")
            XCTAssertEqual([result.objects.count, result.mapSize.height, result.mapSize.width], reference.shape, group)
            assertClose(result.objects.flatMap(\.map), reference.values, .relative(1e-4), "\(group) maps")
            XCTAssertEqual(result.objects.map(\.rows), [[877, 878], [879, 880, 881, 882], [883, 884], [885, 886]]
                .map { rows in rows.map { $0 - (split ? 0 : 795) } }, "\(group) rows (query both)")

            // vl-sam points: every decision of these two cases wins by ≥ 1e-4 or is an exact tie,
            // so the pixels must be identical (README, "Points").
            let sets = try PromptsArtifact.read(from: prompts).sets
            let positives = try r.readDouble("\(group)/points/vl_sam/pos_xy").values
            let negatives = try r.readDouble("\(group)/points/vl_sam/neg_xy").values
            for (k, set) in sets.enumerated() {
                var expected = [Float(positives[2 * k]), Float(positives[2 * k + 1])]
                var labels: [Int32] = [1]
                if !negatives[2 * k].isNaN {
                    expected += [Float(negatives[2 * k]), Float(negatives[2 * k + 1])]
                    labels.append(0)
                }
                XCTAssertEqual(set.points.flatMap { [$0.x, $0.y] }, expected, "\(group) \(set.name)")
                XCTAssertEqual(set.labels, labels, "\(group) \(set.name)")
                XCTAssertTrue(set.localised)
            }
        }
    }

    /// The whole chain with one refinement step, for a SAM checkpoint (mask input fed back) and
    /// for EfficientSAM (points only).
    func testWholeChainWithRefinement() throws {
        let b = try bundle()
        let dir = scratchDirectory()
        let objects = try list(b, split: false, into: dir)
        let attention = dir + "/a.h5", prompts0 = dir + "/p0.h5"
        try succeed("vlsam-attend", ["--model", b.vlm, "--objects", objects, "--output", attention, "--png-dir", dir + "/png"])
        try succeed("vlsam-points", ["--attention", attention, "--output", prompts0, "--png-dir", dir + "/png"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/png/a_1_fire-hydrant.png"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/png/p0_3_tire.png"))

        for (family, checkpoint) in [("sam", b.sam), ("efficientsam", b.efficientSAM)] {
            let embedding = dir + "/\(family).embedding.h5", masks0 = dir + "/\(family).m0.h5"
            let prompts1 = dir + "/\(family).p1.h5", masks1 = dir + "/\(family).m1.h5"
            try succeed("vlsam-encode", ["--checkpoint", checkpoint, "--output", embedding, b.photo])
            try succeed("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", embedding, "--prompts", prompts0,
                                         "--output", masks0, "--multimask"])
            try succeed("vlsam-points", ["--attention", attention, "--previous-masks", masks0, "--output", prompts1,
                                         "--box-from-mask"])
            try succeed("vlsam-decode", ["--checkpoint", checkpoint, "--embedding", embedding, "--prompts", prompts1,
                                         "--output", masks1, "--multimask"])

            let first = try MasksArtifact.read(from: masks0), refined = try PromptsArtifact.read(from: prompts1)
            let second = try MasksArtifact.read(from: masks1)
            XCTAssertEqual(first.setNames, ["truck", "fire hydrant", "window", "tire"], family)
            XCTAssertEqual(first.maskCount, 12, "3 masks for each of 4 objects")
            XCTAssertEqual(first.originalSize, ImageSize(height: 1200, width: 1800))
            XCTAssertEqual(first.refinementIteration, 0)
            XCTAssertEqual(first.modelFamily, family)
            XCTAssertEqual(refined.origin?.refinementIteration, 1, family)
            XCTAssertEqual(refined.origin?.attentionFile, attention)
            XCTAssertEqual(refined.origin?.masksFile, masks0)
            XCTAssertEqual(refined.origin?.masksSHA256, try sha256Hex(ofFile: masks0))
            XCTAssertEqual(refined.sets.map(\.name), first.setNames)
            for set in refined.sets where set.localised {
                XCTAssertEqual(set.maskInput != nil, family == "sam", "\(family) \(set.name): mask input only for SAM")
                XCTAssertNotNil(set.box, "\(family) \(set.name): --box-from-mask")
                XCTAssertEqual(set.labels.first, 1)
            }
            XCTAssertEqual(second.refinementIteration, 1)
            XCTAssertEqual(second.setSkipped, refined.sets.map { !$0.localised })
            XCTAssertEqual(second.maskCount, 3 * refined.sets.filter(\.localised).count)
        }
    }

    /// An objects artifact written before image features were stored: the photo is encoded again
    /// and the maps are the same as from the stored features.
    func testListingWithoutStoredFeaturesEncodesThePhotoAgain() throws {
        let b = try bundle()
        let dir = scratchDirectory()
        let objects = try list(b, split: false, into: dir)
        var old = try ObjectsArtifact.read(from: objects)
        old.imageFeatures = nil
        try old.write(to: dir + "/old.objects.h5")
        try succeed("vlsam-attend", ["--model", b.vlm, "--objects", objects, "--output", dir + "/stored.h5"])
        try succeed("vlsam-attend", ["--model", b.vlm, "--objects", dir + "/old.objects.h5", "--output", dir + "/again.h5"])
        let stored = try AttentionArtifact.read(from: dir + "/stored.h5"), again = try AttentionArtifact.read(from: dir + "/again.h5")
        assertClose(again.objects.flatMap(\.map), stored.objects.flatMap(\.map), .absolute(1e-6), "maps")
        assertClose(again.headWeights, stored.headWeights, .absolute(1e-6), "head weights")
    }

    // MARK: Bad input

    func testEachStageRefusesTheWrongArtifactKind() throws {
        let b = try bundle()
        let dir = scratchDirectory()
        let objects = try list(b, split: false, into: dir)
        let attention = dir + "/a.h5", prompts = dir + "/p.h5", out = dir + "/out.h5"
        try succeed("vlsam-attend", ["--model", b.vlm, "--objects", objects, "--output", attention])
        try succeed("vlsam-points", ["--attention", attention, "--output", prompts])
        try assertFails("vlsam-attend", ["--model", b.vlm, "--objects", attention, "--output", out], naming: attention, output: out)
        try assertFails("vlsam-points", ["--attention", objects, "--output", out], naming: objects, output: out)
        try assertFails("vlsam-points", ["--attention", attention, "--previous-masks", prompts, "--output", out],
                        naming: prompts, output: out)
        let embedding = dir + "/e.h5"
        try succeed("vlsam-encode", ["--checkpoint", b.efficientSAM, "--output", embedding, b.photo])
        try assertFails("vlsam-decode", ["--checkpoint", b.efficientSAM, "--embedding", embedding, "--prompts", attention,
                                         "--output", out], naming: attention, output: out)
    }

    func testBadListingsAreRefused() throws {
        let b = try bundle()
        let dir = scratchDirectory()
        // A copy of the photo, so it can be changed after listing.
        let photo = dir + "/truck.jpg"
        try FileManager.default.copyItem(atPath: b.photo, toPath: photo)
        let objects = dir + "/o.h5", out = dir + "/a.h5"
        try succeed("vlsam-list", ["--model", b.vlm, "--output", objects, photo, "--no-split", "--objects", "truck, tire"])
        let listing = try ObjectsArtifact.read(from: objects)

        // Made with another model: other weights, or a hidden size that disagrees.
        var other = listing
        other.provenance.checkpointSHA256 = String(repeating: "0", count: 64)
        try other.write(to: dir + "/other-weights.h5")
        try assertFails("vlsam-attend", ["--model", b.vlm, "--objects", dir + "/other-weights.h5", "--output", out],
                        naming: dir + "/other-weights.h5", output: out)
        var narrow = listing
        let features = try XCTUnwrap(listing.imageFeatures)
        narrow.imageFeatures = Tensor(shape: [features.shape[0], features.shape[1] - 8], data: (0..<features.shape[0]).flatMap {
            Array(features.data[$0 * features.shape[1] ..< ($0 + 1) * features.shape[1] - 8])
        })
        try narrow.write(to: dir + "/narrow.h5")
        try assertFails("vlsam-attend", ["--model", b.vlm, "--objects", dir + "/narrow.h5", "--output", out],
                        naming: dir + "/narrow.h5", output: out)
        var outOfVocabulary = listing
        outOfVocabulary.generatedIDs[0] = 1_000_000
        try outOfVocabulary.write(to: dir + "/vocabulary.h5")
        try assertFails("vlsam-attend", ["--model", b.vlm, "--objects", dir + "/vocabulary.h5", "--output", out],
                        naming: dir + "/vocabulary.h5", output: out)

        // An object span outside the sequence.
        // Longer than the model's context (8192 for smolvlm-tiny): refused before any T x T matrix is made.
        var long = listing
        long.generatedIDs += [Int](repeating: 0, count: 8192)
        try long.write(to: dir + "/long.h5")
        let refused = try assertFails("vlsam-attend", ["--model", b.vlm, "--objects", dir + "/long.h5", "--output", out],
                                      naming: dir + "/long.h5", output: out)
        XCTAssertTrue(refused.stderr.contains("prompt and answer tokens, more than smolvlm-tiny's context of 8192"), refused.stderr)

        var outside = listing
        let tokens = listing.inputIDs.count + listing.generatedIDs.count
        outside.objects[1].spans = [tokens + 2 ..< tokens + 4]
        try outside.write(to: dir + "/span.h5")
        try assertFails("vlsam-attend", ["--model", b.vlm, "--objects", dir + "/span.h5", "--output", out],
                        naming: dir + "/span.h5", output: out)

        // The photo changed after listing.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: photo))
        handle.seekToEndOfFile()
        handle.write(Data([0]))
        handle.closeFile()
        try assertFails("vlsam-attend", ["--model", b.vlm, "--objects", objects, "--output", out], naming: photo, output: out)
    }

    func testBadAttentionMasksAndThresholdAreRefused() throws {
        let b = try bundle()
        let dir = scratchDirectory()
        let objects = try list(b, split: false, into: dir)
        let attention = dir + "/a.h5", out = dir + "/p.h5"
        try succeed("vlsam-attend", ["--model", b.vlm, "--objects", objects, "--output", attention])

        // NaN in a map: written with the raw HDF5 layer, since the artifact type refuses to write it.
        let poisoned = dir + "/nan.h5"
        try writeAttention(try AttentionArtifact.read(from: attention), to: poisoned, poisonMap: true)
        try assertFails("vlsam-points", ["--attention", poisoned, "--output", out], naming: poisoned, output: out)

        // Masks of another photo (the dog, 534 × 800) than the attention's (1200 × 1800).
        let dog = try XCTUnwrap(sharedPath("data/samples/dog.jpg"))
        let embedding = dir + "/dog.h5", masks = dir + "/dog.masks.h5"
        try succeed("vlsam-encode", ["--checkpoint", b.efficientSAM, "--output", embedding, dog])
        try succeed("vlsam-decode", ["--checkpoint", b.efficientSAM, "--embedding", embedding, "--point", "5,5,1", "--output", masks])
        try assertFails("vlsam-points", ["--attention", attention, "--previous-masks", masks, "--output", out],
                        naming: masks, output: out)

        for threshold in ["0", "1.5", "-0.2", "nan"] {
            let result = try runStage("vlsam-points", ["--attention", attention, "--output", out, "--threshold", threshold])
            XCTAssertNotEqual(result.status, 0, threshold)
            XCTAssertTrue(result.stderr.contains("--threshold"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }

    /// The attention artifact's datasets written directly, optionally with a NaN in the first map.
    func writeAttention(_ a: AttentionArtifact, to path: String, poisonMap: Bool) throws {
        let file = try HDF5File(creatingAt: path)
        try a.provenance.write(to: file, schema: .attention)
        try file.setAttribute("original_size", [a.originalSize.height, a.originalSize.width])
        try file.setAttribute("map_rect", a.mapRect)
        for (name, value) in [("objects_file", a.objectsFile), ("objects_sha256", a.objectsSHA256), ("flow", a.flow),
                              ("regularization", a.regularization), ("query", a.query), ("tiles", a.tiles)] {
            try file.setAttribute(name, value)
        }
        try file.setAttribute("alpha", a.alpha)
        var maps = a.objects.flatMap(\.map)
        if poisonMap { maps[3] = .nan }
        try file.write(a.objects.map(\.name), to: "object_names")
        try file.write(maps, shape: [a.objects.count, a.mapSize.height, a.mapSize.width], to: "maps")
        try file.write(a.objects.flatMap(\.tokenVector), shape: [a.objects.count, a.objects[0].tokenVector.count], to: "token_vectors")
        try file.write(a.headWeights, shape: [a.layers, a.heads], to: "head_weights")
        var offsets: [Int32] = [0]
        for object in a.objects { offsets.append(offsets.last! + Int32(object.rows.count)) }
        try file.write(offsets, shape: [offsets.count], to: "object_row_offsets")
        try file.write(a.objects.flatMap(\.rows).map(Int64.init), shape: [Int(offsets.last!)], to: "object_rows")
        try file.commit()
    }
}

import Artifacts
import Foundation
import Imaging
import TestSupport
import XCTest

/// Every file of the bad-input corpus read through the library: the exact one-line error, naming
/// the file and the dataset or attribute at fault, and the kind of failure.
final class BadArtifactCorpusTests: XCTestCase {
    private var savedLimits = (datasetBytes: ArtifactLimits.maxDatasetBytes, pixels: decodePixelLimit())

    override func setUp() {
        savedLimits = (ArtifactLimits.maxDatasetBytes, decodePixelLimit())
        // Fixed limits, so the messages are the same on every machine.
        ArtifactLimits.maxDatasetBytes = 1 << 30
        setDecodePixelLimit(100_000_000)
    }

    override func tearDown() {
        ArtifactLimits.maxDatasetBytes = savedLimits.datasetBytes
        setDecodePixelLimit(savedLimits.pixels)
    }

    private func assertRefused<T>(_ name: String, _ kind: ArtifactError.Kind, _ problem: String,
                                  _ read: (String) throws -> T, line: UInt = #line) {
        let path = badArtifactPath(name)
        do {
            _ = try read(path)
            XCTFail("\(name) was accepted", line: line)
        } catch let error as ArtifactError {
            XCTAssertEqual(error.kind, kind, "\(name): \(error)", line: line)
            XCTAssertEqual(error.description, "\(path): \(problem)", line: line)
        } catch {
            XCTFail("\(name): expected an ArtifactError, got \(error)", line: line)
        }
    }

    func testEmbeddingCorpus() throws {
        XCTAssertEqual(try EmbeddingArtifact.read(from: badArtifactPath("embedding.good.h5")).originalSize.width, 180)
        let read = EmbeddingArtifact.read(from:)
        assertRefused("embedding.wrong_kind.h5", .wrongSchema, #"not a vlsam.embedding artifact (schema attribute is "vlsam.masks")"#, read)
        assertRefused("embedding.no_schema.h5", .wrongSchema,
                      "has no schema attribute (not written by vlsam?); expected a vlsam.embedding artifact", read)
        assertRefused("embedding.newer_version.h5", .unsupportedVersion,
                      "vlsam.embedding schema version 7 is newer than this program supports (1); vlsam \(vlsamVersion) is too old for this file", read)
        assertRefused("embedding.missing_dataset.h5", .missingObject, #"no dataset "image_embedding""#, read)
        assertRefused("embedding.missing_attribute.h5", .missingObject, #"missing root attribute "original_size""#, read)
        assertRefused("embedding.wrong_shape.h5", .wrongShape,
                      #"dataset "image_embedding" has shape [256, 32, 32], expected [C=256, H=64, W=64]"#, read)
        assertRefused("embedding.wrong_rank.h5", .wrongShape,
                      #"dataset "image_embedding" has shape [256, 4096], expected [C=256, H=64, W=64]"#, read)
        assertRefused("embedding.wrong_dtype.h5", .wrongType,
                      #"dataset "image_embedding" holds integers, expected floating-point values"#, read)
        assertRefused("embedding.nan.h5", .invalidValue,
                      #"dataset "image_embedding" holds nan at [3, 10, 20]; its values must be finite"#, read)
        assertRefused("embedding.absurd_size.h5", .exceedsLimit,
                      #"root attribute "original_size" is 100000x100000, 10000000000 pixels, above the limit of 100000000 pixels (--max-pixels)"#, read)
        assertRefused("empty.h5", .emptyFile, "file is empty (0 bytes); an interrupted copy or write?", read)
        assertRefused("garbage.h5", .notHDF5, "not an HDF5 file (no HDF5 signature in its 4096 bytes)", read)
    }

    func testTruncatedFileIsNamedAsSuch() throws {
        let path = badArtifactPath("embedding.truncated.h5")
        XCTAssertThrowsError(try EmbeddingArtifact.read(from: path)) { error in
            let message = String(describing: error)
            XCTAssertEqual((error as? ArtifactError)?.kind, .unreadable, message)
            XCTAssertTrue(message.hasPrefix("\(path): HDF5 cannot open the file (truncated file: eof = 7384"), message)
            XCTAssertTrue(message.hasSuffix("); truncated or corrupt?"), message)
        }
    }

    func testPromptsCorpus() throws {
        XCTAssertEqual(try PromptsArtifact.read(from: badArtifactPath("prompts.good.h5")).sets.map(\.name), ["cat", "dog"])
        let read = PromptsArtifact.read(from:)
        assertRefused("prompts.nan_point.h5", .invalidValue, #"prompt set 1 ("dog"): point 0 has a non-finite coordinate (nan, 5.0)"#, read)
        assertRefused("prompts.point_outside.h5", .invalidValue,
                      #"prompt set 0 ("cat"): point 1 (200.0, 5.0) is outside the 100x150 image (x in 0…150, y in 0…100)"#, read)
        assertRefused("prompts.reversed_box.h5", .invalidValue,
                      #"prompt set 0 ("cat"): box (40.0, 10.0, 20.0, 30.0) has x1 < x0 or y1 < y0"#, read)
        assertRefused("prompts.labels_as_floats.h5", .wrongType,
                      #"dataset "point_labels" holds floating-point values, expected integers"#, read)
        assertRefused("prompts.points_as_strings.h5", .wrongType, #"dataset "points" holds strings, expected floating-point values"#, read)
        assertRefused("prompts.absurd_points.h5", .exceedsLimit,
                      #"dataset "points" announces shape [1099511627776, 2], 8.0 TiB in memory, above the limit of 1.0 GiB for one dataset (--max-dataset-mb)"#,
                      read)
        assertRefused("prompts.inf_mask_input.h5", .invalidValue,
                      #"dataset "mask_inputs" holds -inf at [0, 3, 4]; its values must be finite"#, read)
    }

    func testMasksCorpus() throws {
        XCTAssertEqual(try MasksArtifact.read(from: badArtifactPath("masks.good.h5")).maskCount, 3)
        let read = MasksArtifact.read(from:)
        assertRefused("masks.nan_logits.h5", .invalidValue, #"dataset "lowres_logits" holds nan at [1, 2, 3]; its values must be finite"#, read)
        assertRefused("masks.dims_disagree.h5", .wrongShape, #"dataset "masks" has shape [3, 20, 31], expected [M, H=20, W=30]"#, read)
        assertRefused("masks.absurd_count.h5", .exceedsLimit,
                      #"dataset "masks" announces shape [100000000, 20, 30], 56 GiB in memory, above the limit of 1.0 GiB for one dataset (--max-dataset-mb)"#,
                      read)
    }

    func testAttentionCorpus() throws {
        XCTAssertEqual(try AttentionArtifact.read(from: badArtifactPath("attention.good.h5")).objects.count, 2)
        let read = AttentionArtifact.read(from:)
        assertRefused("attention.wrong_kind.h5", .wrongSchema,
                      #"not a vlsam.attention artifact (schema attribute is "vlsam.embedding")"#, read)
        assertRefused("attention.nan_map.h5", .invalidValue, #"dataset "maps", object 1 ("dog"): value nan at 5 is not in [0, 1]"#, read)
        assertRefused("attention.missing_dataset.h5", .missingObject, #"no dataset "head_weights""#, read)
        assertRefused("attention.absurd_map.h5", .exceedsLimit,
                      #"dataset "maps" announces shape [2, 100000, 100000], 75 GiB in memory, above the limit of 1.0 GiB for one dataset (--max-dataset-mb)"#,
                      read)
    }

    /// The limits are the process's to set: a lower dataset limit refuses what the default reads.
    func testDatasetLimitIsAdjustable() throws {
        ArtifactLimits.maxDatasetBytes = 1000
        assertRefused("embedding.good.h5", .exceedsLimit,
                      #"dataset "image_embedding" announces shape [256, 64, 64], 4.0 MiB in memory, above the limit of 1000 bytes for one dataset (--max-dataset-mb)"#,
                      EmbeddingArtifact.read(from:))
        // The one pixel limit of the process, the one image decoding applies (--max-pixels).
        setDecodePixelLimit(120 * 180 - 1)
        assertRefused("embedding.good.h5", .exceedsLimit,
                      #"root attribute "original_size" is 120x180, 21600 pixels, above the limit of 21599 pixels (--max-pixels)"#, EmbeddingArtifact.read(from:))
    }
}

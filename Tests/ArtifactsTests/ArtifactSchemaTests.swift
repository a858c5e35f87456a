import Artifacts
import Foundation
import Geometry
import TensorMath
import TestSupport
import XCTest

/// A deterministic pattern, so round trips compare real values.
private func pattern(_ shape: [Int], scale: Float = 1) -> Tensor {
    Tensor(shape: shape) { buffer in
        for index in buffer.indices { buffer[index] = scale * Float((index * 7919) % 2003 - 1001) / 1001 }
    }
}

private let provenance = Provenance(
    producer: "vlsam-tests", createdUTC: "2026-01-02T03:04:05Z", modelName: "sam-small",
    checkpointPath: "/models/sam.pth", checkpointSHA256: String(repeating: "ab", count: 32),
    sourceImage: "truck.jpg", sourceImageSHA256: String(repeating: "0f", count: 32),
    parameters: #"{"threshold":0,"multimask":true}"#)

private func sampleEmbedding() -> EmbeddingArtifact {
    EmbeddingArtifact(provenance: provenance, family: "sam", originalSize: ImageSize(height: 1200, width: 1800),
                      inputSize: ImageSize(height: 683, width: 1024), modelInputSize: 1024,
                      resize: "resize_longest_side_pil_bilinear", pixelMean: [123.675, 116.28, 103.53],
                      pixelStd: [58.395, 57.12, 57.375], pixelScale: "0..255", embedding: pattern([256, 64, 64]))
}

private func samplePrompts() -> PromptsArtifact {
    PromptsArtifact(provenance: provenance, originalSize: ImageSize(height: 1200, width: 1800), sets: [
        PromptSet(name: "truck", points: [PixelPoint(x: 500, y: 375), PixelPoint(x: 1125.5, y: 625.25)], labels: [1, 0]),
        PromptSet(name: "", box: PixelBox(x0: 75, y0: 275, x1: 1725, y1: 850)),
        PromptSet(name: "wheel", points: [PixelPoint(x: 0, y: 1199)], labels: [1], box: PixelBox(x0: 10, y0: 20, x1: 30, y1: 40),
                  maskInput: pattern([256, 256], scale: 20)),
        PromptSet(name: "nothing yet"),
    ])
}

private func sampleMasks(count: Int = 3, height: Int = 120, width: Int = 180) -> MasksArtifact {
    var masks = [UInt8](repeating: 0, count: count * height * width)
    for index in masks.indices where (index / width) % height < (index % width) / (1 + index / (height * width)) { masks[index] = 1 }
    return MasksArtifact(
        provenance: provenance, originalSize: ImageSize(height: height, width: width), multimask: true,
        maskThreshold: 0, thresholdRule: ">", embeddingFile: "truck.embedding.h5",
        embeddingSHA256: String(repeating: "cd", count: 32), masks: masks,
        lowresLogits: pattern([count, 256, 256], scale: 8),
        iouPredictions: (0..<count).map { 0.5 + Float($0) / 10 }, stabilityScores: (0..<count).map { 0.9 - Float($0) / 100 },
        promptSet: (0..<count).map { Int32($0 % 2) }, maskIndex: (0..<count).map { Int32($0 / 2) },
        setNames: ["truck", "wheel"])
}

final class ArtifactSchemaTests: XCTestCase {
    // MARK: - Round trips

    func testEmbeddingRoundTrip() throws {
        let path = scratchDirectory() + "/truck.embedding.h5"
        let artifact = sampleEmbedding()
        try artifact.write(to: path)
        XCTAssertEqual(try EmbeddingArtifact.read(from: path), artifact)

        let file = try HDF5File(readingAt: path)
        XCTAssertEqual(try file.attributeString("schema"), "vlsam.embedding")
        XCTAssertEqual(try file.attributeInt("schema_version"), 1)
        XCTAssertEqual(try file.attributeString("producer_version"), vlsamVersion)
        XCTAssertEqual(try file.attributeInts("input_size"), [683, 1024])
        XCTAssertEqual(try file.attributeString("layout", at: "image_embedding"), "CHW")
        try assertToolsAccept(path, mentioning: ["image_embedding", "CHUNKED ( 16, 64, 64 )", "ATTRIBUTE \"schema_version\""])
    }

    func testPromptsRoundTrip() throws {
        let path = scratchDirectory() + "/truck.prompts.h5"
        let artifact = samplePrompts()
        try artifact.write(to: path)
        XCTAssertEqual(try PromptsArtifact.read(from: path), artifact)

        let file = try HDF5File(readingAt: path)
        XCTAssertEqual(try file.readInt32("set_point_offsets").values, [0, 2, 2, 3, 3])
        XCTAssertEqual(try file.readUInt8("has_box").values, [0, 1, 1, 0])
        XCTAssertEqual(try file.readUInt8("has_mask_input").values, [0, 0, 1, 0])
        XCTAssertEqual(try file.readTensor("points").data, [500, 375, 1125.5, 625.25, 0, 1199])
        try assertToolsAccept(path, mentioning: ["set_point_offsets", "mask_inputs", "description"])
    }

    func testPromptsWithoutSetsOrMaskInputs() throws {
        let directory = scratchDirectory()
        let empty = PromptsArtifact(provenance: provenance, originalSize: ImageSize(height: 10, width: 20), sets: [])
        try empty.write(to: directory + "/empty.h5")
        XCTAssertEqual(try PromptsArtifact.read(from: directory + "/empty.h5"), empty)

        var plain = samplePrompts()
        plain.sets[2].maskInput = nil
        try plain.write(to: directory + "/plain.h5")
        XCTAssertFalse(try HDF5File(readingAt: directory + "/plain.h5").exists("mask_inputs"))
        XCTAssertEqual(try PromptsArtifact.read(from: directory + "/plain.h5"), plain)
    }

    func testMasksRoundTripIsCompressed() throws {
        let path = scratchDirectory() + "/truck.masks.h5"
        let artifact = sampleMasks(count: 3, height: 600, width: 900)
        try artifact.write(to: path)
        let read = try MasksArtifact.read(from: path)
        XCTAssertEqual(read, artifact)
        XCTAssertEqual(read.maskCount, 3)
        XCTAssertEqual(read.mask(1), artifact.masks[600 * 900 ..< 2 * 600 * 900])

        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let logitsBytes = 3 * 256 * 256 * 4
        XCTAssertLessThan(size - logitsBytes, artifact.masks.count / 10, "masks should compress at least 10x")
        try assertToolsAccept(path, mentioning: ["CHUNKED ( 1, 600, 900 )", "DEFLATE", "threshold_rule"])
    }

    func testMasksWithNoMasks() throws {
        let path = scratchDirectory() + "/none.h5"
        let artifact = MasksArtifact(
            provenance: provenance, originalSize: ImageSize(height: 4, width: 5), multimask: false, maskThreshold: 0,
            thresholdRule: ">=", embeddingFile: "", embeddingSHA256: "", masks: [], lowresLogits: Tensor(zeros: [0, 256, 256]),
            iouPredictions: [], stabilityScores: [], promptSet: [], maskIndex: [], setNames: [])
        try artifact.write(to: path)
        XCTAssertEqual(try MasksArtifact.read(from: path), artifact)
    }

    func testProvenanceParametersRoundTripThroughCodable() throws {
        struct Parameters: Codable, Equatable { var multimask: Bool; var threshold: Double; var model: String }
        let parameters = Parameters(multimask: true, threshold: 0.5, model: "sam/vit-b")
        var stamped = provenance
        stamped.parameters = try Provenance.json(parameters)
        XCTAssertEqual(stamped.parameters, #"{"model":"sam/vit-b","multimask":true,"threshold":0.5}"#)
        var artifact = sampleEmbedding()
        artifact.provenance = stamped
        let path = scratchDirectory() + "/parameters.h5"
        try artifact.write(to: path)
        XCTAssertEqual(try EmbeddingArtifact.read(from: path).provenance.decodeParameters(Parameters.self), parameters)
    }

    // MARK: - Schema checks

    func testWrongMissingAndNewerSchemas() throws {
        let directory = scratchDirectory()
        let masks = directory + "/masks.h5"
        try sampleMasks().write(to: masks)
        assertArtifactError(.wrongSchema, file: masks,
                            containing: [#"not a vlsam.embedding artifact (schema attribute is "vlsam.masks")"#]) {
            try EmbeddingArtifact.read(from: masks)
        }

        let plain = directory + "/plain.h5"
        let writer = try HDF5File(creatingAt: plain)
        try writer.write(pattern([256, 64, 64]), to: "image_embedding")
        try writer.commit()
        assertArtifactError(.wrongSchema, file: plain, containing: ["has no schema attribute (not written by vlsam?)"]) {
            try EmbeddingArtifact.read(from: plain)
        }

        let future = directory + "/future.h5"
        let futureWriter = try HDF5File(creatingAt: future)
        try futureWriter.setAttribute("schema", "vlsam.prompts")
        try futureWriter.setAttribute("schema_version", 3)
        try futureWriter.commit()
        assertArtifactError(.unsupportedVersion, file: future,
                            containing: ["vlsam.prompts schema version 3 is newer than this program supports (1)"]) {
            try PromptsArtifact.read(from: future)
        }
    }

    func testBadFilesNameThePath() throws {
        let directory = scratchDirectory()
        let empty = directory + "/empty.h5"
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        assertArtifactError(.emptyFile, file: empty, containing: ["empty"]) { try MasksArtifact.read(from: empty) }
        let text = directory + "/text.h5"
        try "{\"not\": \"hdf5\"}".write(toFile: text, atomically: true, encoding: .utf8)
        assertArtifactError(.notHDF5, file: text, containing: ["not an HDF5 file"]) { try PromptsArtifact.read(from: text) }
        let missing = directory + "/missing.h5"
        assertArtifactError(.missingFile, file: missing) { try EmbeddingArtifact.read(from: missing) }
    }

    func testEmbeddingWithWrongShapeOrMissingDatasetIsRejected() throws {
        let directory = scratchDirectory()
        let wrongShape = directory + "/wrong_shape.h5"
        try writeEmbeddingLayout(to: wrongShape, embedding: pattern([256, 32, 32]))
        assertArtifactError(.wrongShape, file: wrongShape,
                            containing: [#"dataset "image_embedding" has shape [256, 32, 32], expected [C=256, H=64, W=64]"#]) {
            try EmbeddingArtifact.read(from: wrongShape)
        }
        let missing = directory + "/missing_dataset.h5"
        try writeEmbeddingLayout(to: missing, embedding: nil)
        assertArtifactError(.missingObject, file: missing, containing: [#"no dataset "image_embedding""#]) {
            try EmbeddingArtifact.read(from: missing)
        }
    }

    func testMissingProvenanceAttributeIsNamed() throws {
        let path = scratchDirectory() + "/no_producer.h5"
        try writeEmbeddingLayout(to: path, embedding: pattern([256, 64, 64]), skipping: "producer")
        assertArtifactError(.missingObject, file: path, containing: [#"missing provenance attribute "producer""#]) {
            try EmbeddingArtifact.read(from: path)
        }
    }

    func testLayoutWrittenIndependentlyIsRead() throws {
        let path = scratchDirectory() + "/independent.h5"
        try writeEmbeddingLayout(to: path, embedding: pattern([256, 64, 64]))
        let read = try EmbeddingArtifact.read(from: path)
        XCTAssertEqual(read.family, "efficientsam")
        XCTAssertEqual(read.inputSize, ImageSize(height: 1024, width: 1024))
        XCTAssertEqual(read.pixelMean, [0.485, 0.456, 0.406])
        XCTAssertEqual(read.embedding, pattern([256, 64, 64]))
    }

    // MARK: - Prompt validation

    func testNaNPointIsRejectedOnReadAndWrite() throws {
        let directory = scratchDirectory()
        let path = directory + "/nan.h5"
        try writePromptsLayout(to: path, points: [10, 20, .nan, 5], labels: [1, 1], offsets: [0, 1, 2], names: ["a", "b"])
        assertArtifactError(.invalidValue, file: path, containing: [#"prompt set 1 ("b"): point 0 has a non-finite coordinate (nan, 5.0)"#]) {
            try PromptsArtifact.read(from: path)
        }
        var prompts = samplePrompts()
        prompts.sets[2].points[0].y = .infinity
        let written = directory + "/never.h5"
        assertArtifactError(.invalidValue, file: written, containing: [#"prompt set 2 ("wheel")"#, "non-finite"]) {
            try prompts.write(to: written)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: written))
    }

    func testBadLabelsOffsetsAndShapesAreRejected() throws {
        let directory = scratchDirectory()
        let label = directory + "/label.h5"
        try writePromptsLayout(to: label, points: [1, 2], labels: [3], offsets: [0, 1], names: [""])
        assertArtifactError(.invalidValue, file: label, containing: ["prompt set 0: point 0 has label 3"]) {
            try PromptsArtifact.read(from: label)
        }
        let offsets = directory + "/offsets.h5"
        try writePromptsLayout(to: offsets, points: [1, 2, 3, 4], labels: [1, 1], offsets: [0, 2, 1], names: ["", ""])
        assertArtifactError(.invalidValue, file: offsets, containing: ["set_point_offsets [0, 2, 1]"]) {
            try PromptsArtifact.read(from: offsets)
        }
        let shape = directory + "/shape.h5"
        try writePromptsLayout(to: shape, points: [1, 2], labels: [1, 0], offsets: [0, 1], names: [""])
        assertArtifactError(.wrongShape, file: shape, containing: [#"dataset "point_labels" has shape [2], expected [P=1]"#]) {
            try PromptsArtifact.read(from: shape)
        }
        let reversed = PromptsArtifact(provenance: provenance, originalSize: ImageSize(height: 9, width: 9),
                                       sets: [PromptSet(box: PixelBox(x0: 5, y0: 0, x1: 1, y1: 4))])
        assertArtifactError(.invalidValue, file: directory + "/reversed.h5", containing: ["x1 < x0"]) {
            try reversed.write(to: directory + "/reversed.h5")
        }
    }

    func testMasksValidation() throws {
        let directory = scratchDirectory()
        var nonBinary = sampleMasks()
        nonBinary.masks[120 * 180 + 5] = 255
        assertArtifactError(.invalidValue, file: directory + "/a.h5", containing: ["mask 1 holds the value 255"]) {
            try nonBinary.write(to: directory + "/a.h5")
        }
        var badSet = sampleMasks()
        badSet.promptSet[2] = 5
        assertArtifactError(.invalidValue, file: directory + "/b.h5", containing: ["mask 2 refers to prompt set 5"]) {
            try badSet.write(to: directory + "/b.h5")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }

    // MARK: - Helpers

    /// Runs h5dump -H and h5ls -r when installed; both must succeed and the header must mention `fragments`.
    private func assertToolsAccept(_ path: String, mentioning fragments: [String], line: UInt = #line) throws {
        if let dump = try runTool("h5dump", ["-p", "-H", path]) {
            XCTAssertEqual(dump.status, 0, dump.output, line: line)
            for fragment in fragments { XCTAssertTrue(dump.output.contains(fragment), "h5dump lacks \(fragment)", line: line) }
        }
        if let listing = try runTool("h5ls", ["-r", path]) {
            XCTAssertEqual(listing.status, 0, listing.output, line: line)
        }
    }

    /// The documented embedding layout, written with the low-level API (not EmbeddingArtifact.write).
    private func writeEmbeddingLayout(to path: String, embedding: Tensor?, skipping skipped: String? = nil) throws {
        let file = try HDF5File(creatingAt: path)
        let strings = ["schema": "vlsam.embedding", "producer": "python", "producer_version": "x", "created_utc": "now",
                       "model_name": "", "checkpoint_path": "", "checkpoint_sha256": "", "source_image": "",
                       "source_image_sha256": "", "parameters": "{}", "model_family": "efficientsam",
                       "resize": "stretch_bilinear_torch", "pixel_scale": "0..1"]
        for (name, value) in strings where name != skipped { try file.setAttribute(name, value) }
        try file.setAttribute("schema_version", 1)
        try file.setAttribute("original_size", [1200, 1800])
        try file.setAttribute("input_size", [1024, 1024])
        try file.setAttribute("model_input_size", 1024)
        try file.setAttribute("pixel_mean", [0.485, 0.456, 0.406])
        try file.setAttribute("pixel_std", [0.229, 0.224, 0.225])
        if let embedding { try file.write(embedding, to: "image_embedding") }
        try file.commit()
    }

    /// The documented prompts layout, written with the low-level API (not PromptsArtifact.write).
    private func writePromptsLayout(to path: String, points: [Float], labels: [Int32], offsets: [Int32], names: [String]) throws {
        let file = try HDF5File(creatingAt: path)
        try provenance.write(to: file, schema: .prompts)
        try file.setAttribute("original_size", [100, 100])
        try file.write(points, shape: [points.count / 2, 2], to: "points")
        try file.write(labels, shape: [labels.count], to: "point_labels")
        try file.write(offsets, shape: [offsets.count], to: "set_point_offsets")
        try file.write([Float](repeating: 0, count: names.count * 4), shape: [names.count, 4], to: "boxes")
        try file.write([UInt8](repeating: 0, count: names.count), shape: [names.count], to: "has_box")
        try file.write(names, to: "set_names")
        try file.commit()
    }
}

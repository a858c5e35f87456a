import Artifacts
import Foundation
import TestSupport
import XCTest

final class HDF5ReadingTests: XCTestCase {
    private var fixture: HDF5File!

    override func setUpWithError() throws {
        fixture = try HDF5File(readingAt: fixturePath("h5py_types.h5"))
    }

    // MARK: - Datasets written by h5py

    func testNumericDatasetsConvertToTheRequestedType() throws {
        let f32 = try fixture.readTensor("f32")
        XCTAssertEqual(f32.shape, [2, 3])
        XCTAssertEqual(f32.data, [0, 0.25, 0.5, 0.75, 1, 1.25])
        XCTAssertEqual(try fixture.readTensor("/i16").data, [-3, 4])
        XCTAssertEqual(try fixture.readTensor("i16").shape, [1, 2])
        XCTAssertEqual(try fixture.readDouble("f64").values, [1.5, -2.25])
        XCTAssertEqual(try fixture.readUInt8("u8").values, [0, 1, 255])
        XCTAssertEqual(try fixture.readInt32("i16").values, [-3, 4])
        XCTAssertEqual(try fixture.readInt64("i64_big").values, [1, 1 << 40])
        XCTAssertEqual(try fixture.readInt32("nested/group/values").values, [7, 8])
        XCTAssertEqual(try fixture.readUInt8("bools").values, [1, 0, 1])
    }

    func testScalarAndEmptyDatasets() throws {
        let scalar = try fixture.readTensor("scalar")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.data, [3.5])
        XCTAssertEqual(try fixture.shape("scalar"), [])
        let empty = try fixture.readTensor("empty")
        XCTAssertEqual(empty.shape, [0, 2])
        XCTAssertEqual(empty.data, [])
    }

    func testStringDatasets() throws {
        XCTAssertEqual(try fixture.readStrings("vlen_strings"), ["a", "héllo", ""])
        XCTAssertEqual(try fixture.readStrings("fixed_strings"), ["ab", "cde"])
        XCTAssertEqual(try fixture.readString("text"), "one string")
        XCTAssertEqual(try fixture.readStrings("text"), ["one string"])
    }

    func testWrongDatasetTypesAreRefused() {
        let file = fixturePath("h5py_types.h5")
        assertArtifactError(.wrongType, file: file, containing: ["\"f32\"", "floating-point", "int32"]) {
            try fixture.readInt32("f32")
        }
        assertArtifactError(.wrongType, file: file, containing: ["\"vlen_strings\"", "strings"]) {
            try fixture.readTensor("vlen_strings")
        }
        assertArtifactError(.wrongType, file: file, containing: ["\"u8\"", "expected strings"]) {
            try fixture.readStrings("u8")
        }
        assertArtifactError(.wrongType, file: file, containing: ["compound"]) { try fixture.readTensor("compound") }
        assertArtifactError(.wrongType, file: file, containing: ["\"i64_big\"", "outside the range of int32"]) {
            try fixture.readInt32("i64_big")
        }
        assertArtifactError(.wrongType, file: file, containing: ["\"nested\" is a group"]) { try fixture.readTensor("nested") }
        assertArtifactError(.wrongShape, file: file, containing: ["\"vlen_strings\"", "single value"]) {
            try fixture.readString("vlen_strings")
        }
    }

    func testMissingDatasetIsNamed() {
        assertArtifactError(.missingObject, file: fixturePath("h5py_types.h5"), containing: ["no dataset \"nested/absent/x\""]) {
            try fixture.readTensor("nested/absent/x")
        }
    }

    // MARK: - Structure

    func testExistsAndMembers() throws {
        XCTAssertTrue(fixture.exists("/"))
        XCTAssertTrue(fixture.exists("nested/group"))
        XCTAssertTrue(fixture.exists("/nested/group/values"))
        XCTAssertFalse(fixture.exists("nested/missing/values"))
        XCTAssertFalse(fixture.exists("f32/inside"))
        XCTAssertEqual(try fixture.members(ofGroup: "nested"), ["group"])
        XCTAssertEqual(try fixture.members(ofGroup: "/nested/group"), ["values"])
        XCTAssertTrue(try fixture.members(ofGroup: "/").contains("vlen_strings"))
        assertArtifactError(.wrongType, file: fixturePath("h5py_types.h5"), containing: ["\"f32\" is a dataset, not a group"]) {
            try fixture.members(ofGroup: "f32")
        }
    }

    // MARK: - Attributes written by h5py

    func testAttributesOfEveryKind() throws {
        XCTAssertEqual(try fixture.attributeString("title"), "fixture")
        XCTAssertEqual(try fixture.attributeString("fixed"), "abc")
        XCTAssertEqual(try fixture.attributeString("spaced"), "pad")
        XCTAssertEqual(try fixture.attributeInt("count"), 42)
        XCTAssertEqual(try fixture.attributeInt("small"), -7)
        XCTAssertEqual(try fixture.attributeBool("flag_true"), true)
        XCTAssertEqual(try fixture.attributeBool("flag_false"), false)
        XCTAssertEqual(try fixture.attributeDouble("ratio"), 0.25)
        XCTAssertEqual(try fixture.attributeDouble("count"), 42)
        XCTAssertEqual(try fixture.attributeInts("hw"), [1200, 1800])
        XCTAssertEqual(try fixture.attributeInts("count"), [42])
        XCTAssertEqual(try fixture.attributeDoubles("mean"), [0.5, 0.25, 0.125])
        XCTAssertEqual(try fixture.attributeString("layout", at: "nested/group/values"), "N")
        XCTAssertTrue(try fixture.hasAttribute("title"))
    }

    func testAbsentAttributeIsNilButWrongTypeThrows() {
        XCTAssertNil(try fixture.attributeString("absent"))
        XCTAssertNil(try fixture.attributeInt("absent", at: "nested/group/values"))
        let file = fixturePath("h5py_types.h5")
        assertArtifactError(.wrongType, file: file, containing: ["attribute \"title\" of \"/\"", "expected numbers"]) {
            try fixture.attributeInt("title")
        }
        assertArtifactError(.wrongType, file: file, containing: ["attribute \"ratio\"", "floating-point"]) {
            try fixture.attributeInt("ratio")
        }
        assertArtifactError(.wrongType, file: file, containing: ["attribute \"count\"", "expected strings"]) {
            try fixture.attributeString("count")
        }
        assertArtifactError(.wrongShape, file: file, containing: ["attribute \"hw\"", "[2]"]) { try fixture.attributeInt("hw") }
        assertArtifactError(.wrongType, file: file, containing: ["attribute \"huge\"", "outside the range"]) {
            try fixture.attributeInt("huge")
        }
        assertArtifactError(.missingObject, file: file, containing: ["no object \"nowhere\"", "\"layout\""]) {
            try fixture.attributeString("layout", at: "nowhere")
        }
    }

    // MARK: - Bad files

    func testBadFilesGiveOneLineErrors() throws {
        let directory = scratchDirectory()
        let missing = directory + "/missing.h5"
        assertArtifactError(.missingFile, file: missing, containing: ["no such file"]) { try HDF5File(readingAt: missing) }

        let empty = directory + "/empty.h5"
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        assertArtifactError(.emptyFile, file: empty, containing: ["0 bytes"]) { try HDF5File(readingAt: empty) }

        let text = directory + "/notes.h5"
        try "just text\n".write(toFile: text, atomically: true, encoding: .utf8)
        assertArtifactError(.notHDF5, file: text, containing: ["not an HDF5 file"]) { try HDF5File(readingAt: text) }

        assertArtifactError(.missingFile, file: directory, containing: ["directory"]) { try HDF5File(readingAt: directory) }

        // The first 1 KiB of a valid file: signature present, data beyond the end.
        let truncated = directory + "/truncated.h5"
        let whole = try Data(contentsOf: URL(fileURLWithPath: fixturePath("h5py_types.h5")))
        try whole.prefix(1024).write(to: URL(fileURLWithPath: truncated))
        assertArtifactError(.unreadable, file: truncated, containing: ["truncated"]) {
            let file = try HDF5File(readingAt: truncated)
            return try file.readStrings("vlen_strings")
        }
    }

    // MARK: - Reference bundles in ../shared

    func testSAMSmallParityBundle() throws {
        guard let path = sharedPath("parity/sam-small/parity.h5") else {
            throw XCTSkip(missingShared("parity/sam-small/parity.h5"))
        }
        let file = try HDF5File(readingAt: path)
        XCTAssertEqual(try file.attributeInt("best_index", at: "cases/case1_point_multimask"), 0)
        XCTAssertEqual(try file.attributeBool("multimask_output", at: "cases/case1_point_multimask"), true)
        XCTAssertEqual(try file.attributeBool("multimask_output", at: "cases/case2_points_single"), false)
        XCTAssertEqual(try file.shape("encoder/image_embedding"), [256, 64, 64])
        XCTAssertEqual(try file.attributeString("layout", at: "encoder/image_embedding"), "CHW")
        XCTAssertEqual(try file.attributeInts("torch_shape", at: "encoder/image_embedding"), [1, 256, 64, 64])
        XCTAssertEqual(try file.attributeString("bundle"), "sam-small")
        XCTAssertEqual(try file.attributeInts("image_hw"), [1200, 1800])
        let mean = try XCTUnwrap(file.attributeDoubles("pixel_mean"))
        XCTAssertEqual(mean.count, 3)
        XCTAssertEqual(mean[0], 123.675, accuracy: 1e-4)
        XCTAssertEqual(try file.members(ofGroup: "cases"),
                       ["case1_point_multimask", "case2_points_single", "case3_box_single", "case4_point_maskinput_single"])
        let embedding = try file.readTensor("encoder/image_embedding")
        XCTAssertEqual(embedding.shape, [256, 64, 64])
        XCTAssertFalse(embedding.hasNonFinite)
        let maxAbs = try XCTUnwrap(file.attributeDouble("max_abs", at: "encoder/image_embedding"))
        XCTAssertEqual(Double(embedding.data.map(abs).max()!), maxAbs, accuracy: 1e-6)
        let masks = try file.readUInt8("cases/case1_point_multimask/masks")
        XCTAssertEqual(masks.shape, [3, 1200, 1800])
        XCTAssertTrue(masks.values.allSatisfy { $0 <= 1 })
        XCTAssertEqual(try file.readInt32("cases/case1_point_multimask/labels").values, [1])
        XCTAssertEqual(try file.readTensor("cases/case1_point_multimask/points_xy").data, [500, 375])
    }

    func testSmolLM2BundleStrings() throws {
        guard let path = sharedPath("parity/smollm2-135m/parity.h5") else {
            throw XCTSkip(missingShared("parity/smollm2-135m/parity.h5"))
        }
        let file = try HDF5File(readingAt: path)
        let names = try file.readStrings("gguf/tensor_names")
        XCTAssertEqual(names.count, 272)
        XCTAssertEqual(Array(names.prefix(2)), ["token_embd.weight", "blk.0.attn_norm.weight"])
        XCTAssertTrue(try file.readString("prompts/p0/prompt_text").hasPrefix("<|im_start|>system\nYou are a helpful AI assistant"))
        XCTAssertEqual(try file.attributeInt("gguf_size_bytes"), 98_362_432)
    }
}

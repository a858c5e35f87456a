import Artifacts
import Foundation
import TensorMath
import TestSupport
import XCTest

final class HDF5WritingTests: XCTestCase {
    func testEveryDatasetAndAttributeKindRoundTrips() throws {
        let path = scratchDirectory() + "/kinds.h5"
        let writer = try HDF5File(creatingAt: path)
        let tensor = Tensor(shape: [2, 3], data: [0.5, -1, 2, .greatestFiniteMagnitude, -0.0, 1e-30])
        try writer.write(tensor, to: "floats")
        try writer.write([1.0, -2.5e300] as [Double], shape: [2], to: "cases/a/b/doubles")
        try writer.write([0, 7, 255] as [UInt8], shape: [3, 1], to: "bytes")
        try writer.write([Int32.min, 0, Int32.max], shape: [3], to: "int32")
        try writer.write([Int64.min, Int64.max], shape: [2], to: "/int64")
        try writer.write(Tensor(shape: [], data: [4.25]), to: "scalar")
        try writer.write([Float](), shape: [0, 2], to: "empty", compression: .gzip(level: 4))
        try writer.write(["", "ascii", "ünïcødé ✓", "with\nnewline"], to: "strings")
        try writer.write([String](), to: "no_strings")
        try writer.createGroup("groups/inner")
        try writer.setAttribute("text", "héllo")
        try writer.setAttribute("count", -3)
        try writer.setAttribute("ratio", 0.1)
        try writer.setAttribute("size", [1200, 1800], at: "cases/a")
        try writer.setAttribute("mean", [0.485, 0.456, 0.406], at: "floats")
        try writer.setAttribute("none", [Int]())
        try writer.setAttribute("count", 9)  // replaces the earlier value
        try writer.commit()

        let reader = try HDF5File(readingAt: path)
        XCTAssertEqual(try reader.readTensor("floats"), tensor)
        XCTAssertEqual(try reader.readDouble("cases/a/b/doubles").values, [1.0, -2.5e300])
        XCTAssertEqual(try reader.readUInt8("bytes").shape, [3, 1])
        XCTAssertEqual(try reader.readUInt8("bytes").values, [0, 7, 255])
        XCTAssertEqual(try reader.readInt32("int32").values, [Int32.min, 0, Int32.max])
        XCTAssertEqual(try reader.readInt64("int64").values, [Int64.min, Int64.max])
        XCTAssertEqual(try reader.readTensor("scalar").shape, [])
        XCTAssertEqual(try reader.readTensor("scalar").data, [4.25])
        XCTAssertEqual(try reader.shape("empty"), [0, 2])
        XCTAssertEqual(try reader.readStrings("strings"), ["", "ascii", "ünïcødé ✓", "with\nnewline"])
        XCTAssertEqual(try reader.readStrings("no_strings"), [])
        XCTAssertTrue(reader.exists("groups/inner"))
        XCTAssertEqual(try reader.members(ofGroup: "cases/a"), ["b"])
        XCTAssertEqual(try reader.attributeString("text"), "héllo")
        XCTAssertEqual(try reader.attributeInt("count"), 9)
        XCTAssertEqual(try reader.attributeDouble("ratio"), 0.1)
        XCTAssertEqual(try reader.attributeInts("size", at: "cases/a"), [1200, 1800])
        XCTAssertEqual(try reader.attributeDoubles("mean", at: "floats"), [0.485, 0.456, 0.406])
        XCTAssertEqual(try reader.attributeInts("none"), [])

        if let dump = try runTool("h5dump", ["-H", path]) {
            XCTAssertEqual(dump.status, 0, dump.output)
            XCTAssertTrue(dump.output.contains("CSET H5T_CSET_UTF8"), dump.output)
        }
        if let listing = try runTool("h5ls", ["-r", path]) {
            XCTAssertEqual(listing.status, 0, listing.output)
            let line = listing.output.split(separator: "\n").first { $0.hasPrefix("/cases/a/b/doubles ") }
            XCTAssertEqual(line?.hasSuffix("Dataset {2}"), true, listing.output)
        }
    }

    func testCompressionAndChunking() throws {
        let path = scratchDirectory() + "/compressed.h5"
        let (count, height, width) = (3, 300, 400)
        // Large uniform regions, like real masks.
        var masks = [UInt8](repeating: 0, count: count * height * width)
        for index in masks.indices where (index % width) < (index / (height * width) + 1) * 100 { masks[index] = 1 }
        let writer = try HDF5File(creatingAt: path)
        try writer.write(masks, shape: [count, height, width], to: "auto", compression: .gzip(level: 4))
        try writer.write(masks, shape: [count, height, width], to: "explicit", compression: .gzip(level: 9), chunks: [1, 100, 400])
        try writer.write(masks, shape: [count, height, width], to: "plain")
        try writer.commit()

        let reader = try HDF5File(readingAt: path)
        XCTAssertEqual(try reader.readUInt8("auto").values, masks)
        XCTAssertEqual(try reader.readUInt8("explicit").values, masks)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        // The uncompressed copy alone is count*height*width bytes; the two compressed copies add little.
        XCTAssertLessThan(size, masks.count + masks.count / 20)

        guard let dump = try runTool("h5dump", ["-p", "-H", path]) else { return }
        XCTAssertEqual(dump.status, 0, dump.output)
        XCTAssertTrue(dump.output.contains("CHUNKED ( 1, 300, 400 )"), dump.output)
        XCTAssertTrue(dump.output.contains("CHUNKED ( 1, 100, 400 )"), dump.output)
        XCTAssertTrue(dump.output.contains("SHUFFLE"), dump.output)
        XCTAssertTrue(dump.output.contains("LEVEL 9"), dump.output)
        XCTAssertTrue(dump.output.contains("CONTIGUOUS"), dump.output)
    }

    func testNothingAppearsBeforeCommit() throws {
        let directory = scratchDirectory()
        let path = directory + "/out.h5"
        let temporary = directory + "/.out.h5.partial-\(getpid())"
        let writer = try HDF5File(creatingAt: path)
        try writer.write([1, 2, 3] as [Int32], shape: [3], to: "values")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: temporary))
        try writer.commit()
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: temporary))
        XCTAssertEqual(try HDF5File(readingAt: path).readInt32("values").values, [1, 2, 3])
        assertArtifactError(.writeFailed, file: path, containing: ["commit() called twice"]) { try writer.commit() }
        assertArtifactError(.writeFailed, file: path, containing: ["closed"]) { try writer.write([1] as [Int32], shape: [1], to: "late") }
    }

    func testAbandonedWriterLeavesNothingAndKeepsTheOldFile() throws {
        let directory = scratchDirectory()
        let path = directory + "/kept.h5"
        let first = try HDF5File(creatingAt: path)
        try first.setAttribute("generation", 1)
        try first.commit()

        do {
            let abandoned = try HDF5File(creatingAt: path)
            try abandoned.setAttribute("generation", 2)
            try abandoned.write(Tensor(zeros: [4, 4]), to: "half_written")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["kept.h5"])
        XCTAssertEqual(try HDF5File(readingAt: path).attributeInt("generation"), 1)

        let replacement = try HDF5File(creatingAt: path)
        try replacement.setAttribute("generation", 3)
        try replacement.commit()
        XCTAssertEqual(try HDF5File(readingAt: path).attributeInt("generation"), 3)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["kept.h5"])
    }

    /// A full disk fails the commit with the system's reason, and leaves no file at all; the process
    /// goes on (HDF5 never wrote to the disk, so nothing of it is left half closed).
    func testFullDiskFailsTheCommitAndLeavesNothing() throws {
        try withSmallFilesystem(kilobytes: 64) { directory in
            let path = directory + "/big.h5"
            let writer = try HDF5File(creatingAt: path)
            try writer.write(Tensor(zeros: [256, 64, 64]), to: "values")
            try writer.setAttribute("note", "written in memory")
            assertArtifactError(.writeFailed, file: path,
                                containing: ["cannot write \(directory)/.big.h5.partial-\(getpid()): No space left on device"]) {
                try writer.commit()
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [], "the temporary file is removed at once")
            // The same path takes a file that fits.
            let small = try HDF5File(creatingAt: path)
            try small.write([1, 2, 3] as [Int32], shape: [3], to: "values")
            try small.commit()
            XCTAssertEqual(try HDF5File(readingAt: path).readInt32("values").values, [1, 2, 3])
        }
    }

    func testWritingMistakesAreReported() throws {
        let directory = scratchDirectory()
        let path = directory + "/mistakes.h5"
        let writer = try HDF5File(creatingAt: path)
        try writer.write([1, 2] as [Int32], shape: [2], to: "values")
        assertArtifactError(.writeFailed, file: path, containing: ["\"values\" already exists"]) {
            try writer.write([3] as [Int32], shape: [1], to: "values")
        }
        assertArtifactError(.writeFailed, file: path, containing: ["shape [2, 2] does not match 3 values"]) {
            try writer.write([Float](repeating: 0, count: 3), shape: [2, 2], to: "bad_shape")
        }
        assertArtifactError(.writeFailed, file: path, containing: ["chunk shape [5] does not fit shape [2]"]) {
            try writer.write([1.0, 2.0] as [Double], shape: [2], to: "bad_chunks", chunks: [5])
        }
        assertArtifactError(.writeFailed, file: path, containing: ["gzip level 12"]) {
            try writer.write([1.0, 2.0] as [Double], shape: [2], to: "bad_level", compression: .gzip(level: 12))
        }
        assertArtifactError(.missingObject, file: path, containing: ["no object \"nowhere\"", "\"note\""]) {
            try writer.setAttribute("note", "x", at: "nowhere")
        }
        let nowhere = directory + "/no/such/dir/out.h5"
        assertArtifactError(.writeFailed, file: nowhere, containing: ["does not exist"]) { try HDF5File(creatingAt: nowhere) }

        try writer.commit()
        let reader = try HDF5File(readingAt: path)
        assertArtifactError(.writeFailed, file: path, containing: ["reading only"]) { try reader.setAttribute("x", 1) }
        assertArtifactError(.writeFailed, file: path, containing: ["opened for reading"]) { try reader.commit() }
    }
}

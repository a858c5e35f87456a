import Artifacts
import Foundation
import TestSupport
import XCTest

/// The structure check `HDF5File(readingAt:)` runs before libhdf5 sees a file: damage that made
/// libhdf5 1.10.8 crash or allocate gigabytes is refused with a one-line error, and the layouts
/// vlsam and h5py write still read (the artifact tests read vlsam's own files of every kind).
final class HDF5LayoutCheckTests: XCTestCase {
    /// A file written by `HDF5File` whose root holds the string attribute "probe" = "hello", with
    /// the offsets of the attribute's name and of its stored string reference.
    private func probeFile() throws -> (bytes: [UInt8], name: Int, reference: Int) {
        let path = scratchDirectory() + "/probe.h5"
        let file = try HDF5File(creatingAt: path)
        try file.setAttribute("probe", "hello")
        try file.commit()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let name = try XCTUnwrap(bytes.indices.first { bytes[$0...].starts(with: Array("probe\0".utf8)) })
        // A version 1 attribute message: version, reserved, name, datatype and dataspace sizes, then
        // the three parts padded to 8 bytes, then the value (length, collection address, index).
        let message = name - 8
        XCTAssertEqual(bytes[message], 1, "not a version 1 attribute message")
        let size = { (offset: Int) in ((Int(bytes[message + offset]) | Int(bytes[message + offset + 1]) << 8) + 7) / 8 * 8 }
        return (bytes, name, name + size(2) + size(4) + size(6))
    }

    private func write(_ bytes: [UInt8]) throws -> String {
        let path = scratchDirectory() + "/damaged.h5"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testUndamagedProbeReads() throws {
        let probe = try probeFile()
        XCTAssertEqual(try HDF5File(readingAt: try write(probe.bytes)).attributeString("probe"), "hello")
        XCTAssertEqual(probe.bytes[probe.reference], 5, "the reference's stored length")
    }

    func testStructureWithAnotherSignatureOrVersionIsRefused() throws {
        // A root with a dataset has a local heap (HEAP) and a symbol table node (SNOD).
        let path = scratchDirectory() + "/group.h5"
        let file = try HDF5File(creatingAt: path)
        try file.write([1, 2, 3] as [Int32], shape: [3], to: "values")
        try file.commit()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(try HDF5File(readingAt: path).readInt32("values").values, [1, 2, 3])
        for (signature, version) in [("HEAP", 0), ("SNOD", 1)] {
            let start = try XCTUnwrap(bytes.indices.first { bytes[$0...].starts(with: Array(signature.utf8)) }, "no \(signature)")
            var wrongSignature = bytes, wrongVersion = bytes
            wrongSignature[start] ^= 0x20
            wrongVersion[start + 4] = UInt8(version + 1)
            for damaged in [wrongSignature, wrongVersion] {
                let path = try write(damaged)
                assertArtifactError(.unreadable, file: path, containing: ["has no \(signature) signature of version \(version)"]) {
                    _ = try HDF5File(readingAt: path)
                }
            }
        }
    }

    func testStringLongerThanItsHeapObjectIsRefused() throws {
        var probe = try probeFile()
        probe.bytes[probe.reference + 3] = 0x80  // 2 GiB + 5: libhdf5 would allocate and fill it
        let path = try write(probe.bytes)
        assertArtifactError(.unreadable, file: path, containing: [
            #"corrupt HDF5 structure: attribute "probe" in object header"#,
            "string 0 claims 2147483653 bytes, its global heap object holds 5",
        ]) { try HDF5File(readingAt: path) }
    }

    func testStringReferenceToAMissingHeapObjectIsRefused() throws {
        var probe = try probeFile()
        probe.bytes[probe.reference + 13] = 0x03  // object index + 768: libhdf5 would index past its table
        let path = try write(probe.bytes)
        assertArtifactError(.unreadable, file: path, containing: ["string 0 refers to object", "which does not exist"]) {
            try HDF5File(readingAt: path)
        }
    }

    func testStringDatasetReferenceLongerThanItsHeapObjectIsRefused() throws {
        let path = scratchDirectory() + "/names.h5"
        let file = try HDF5File(creatingAt: path)
        try file.write(["hello"], to: "names")
        try file.commit()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // The dataset's one reference: length 5, then the address of the only global heap collection.
        let collection = try XCTUnwrap(bytes.indices.first { bytes[$0...].starts(with: Array("GCOL".utf8)) })
        let reference = [5, 0, 0, 0] + withUnsafeBytes(of: UInt64(collection).littleEndian, Array.init)
        let offset = try XCTUnwrap(bytes.indices.first { bytes[$0...].starts(with: reference) })
        bytes[offset] = 6
        let damaged = try write(bytes)
        assertArtifactError(.unreadable, file: damaged, containing: ["string 0 claims 6 bytes, its global heap object holds 5"]) {
            try HDF5File(readingAt: damaged)
        }
    }

    func testUnterminatedAttributeNameIsRefused() throws {
        var probe = try probeFile()
        probe.bytes[probe.name + 5] = UInt8(ascii: "x")  // libhdf5 would strdup past the name
        let path = try write(probe.bytes)
        assertArtifactError(.unreadable, file: path, containing: ["holds a name of 6 bytes that is not NUL-terminated at its end"]) {
            try HDF5File(readingAt: path)
        }
    }

    func testDatatypeLargerThanItsMessageIsRefused() throws {
        var probe = try probeFile()
        probe.bytes[probe.name - 3] = 0x7F  // datatype size 32 512 bytes in a message of a few dozen
        let path = try write(probe.bytes)
        assertArtifactError(.unreadable, file: path, containing: ["corrupt HDF5 structure: object header at byte", "past its end"]) {
            try HDF5File(readingAt: path)
        }
    }

    /// h5py's `track_order` writes a version 2 object header with links and attributes inside it.
    func testTrackOrderFileReads() throws {
        let file = try HDF5File(readingAt: fixturePath("h5py_track_order.h5"))
        XCTAssertEqual(try file.attributeString("title"), "ordered")
        XCTAssertEqual(try file.readInt32("values").values, [1, 2, 3])
        XCTAssertEqual(try file.readStrings("names/list"), ["b", "a"])
    }

    func testDenseAttributeStorageIsRefused() {
        let path = fixturePath("h5py_dense_attributes.h5")
        assertArtifactError(.unreadable, file: path, containing: ["not an HDF5 layout vlsam writes: dense attribute storage"]) {
            try HDF5File(readingAt: path)
        }
    }
}

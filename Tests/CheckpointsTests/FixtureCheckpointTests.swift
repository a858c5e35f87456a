import Checkpoints
import TensorMath
import XCTest

/// Loads the generated fixtures and compares every tensor with the values the Python
/// generator computed (see scripts/make_checkpoint_fixtures.py).
final class FixtureCheckpointTests: XCTestCase {
    private func assertMatchesGenerator(_ stateDict: StateDict, _ fixture: String,
                                        file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try Fixtures.expected(fixture)
        XCTAssertEqual(stateDict.keys, expected.keys, "\(fixture): keys in file order", file: file, line: line)
        XCTAssertEqual(Set(stateDict.tensors.keys), Set(expected.keys), file: file, line: line)
        for name in expected.keys {
            let reference = try XCTUnwrap(expected.tensors[name])
            let tensor = try stateDict.tensor(name)
            XCTAssertEqual(tensor.shape, reference.shape, "\(fixture) \(name): shape", file: file, line: line)
            XCTAssertEqual(tensor.data, reference.values, "\(fixture) \(name): values", file: file, line: line)
        }
    }

    /// Every storage type, views sharing a storage (transpose, block, column), an expanded,
    /// a 0-dim and an empty tensor, a parameter, and an OrderedDict with torch's _metadata.
    func testViewsAndElementTypesMatchGenerator() throws {
        let path = Fixtures.path("views.pth")
        let stateDict = try loadPyTorchCheckpoint(path)
        XCTAssertEqual(stateDict.source, path)
        try assertMatchesGenerator(stateDict, "views.pth")
        XCTAssertFalse(stateDict.contains("step_count"), "non-tensor entries are skipped")
        XCTAssertEqual(stateDict.shape("scalar"), [])
        XCTAssertEqual(stateDict.shape("empty"), [0, 4])
        XCTAssertNil(stateDict.shape("step_count"))
    }

    func testLoadCheckpointSniffsZipAndSafetensors() throws {
        try assertMatchesGenerator(try loadCheckpoint(Fixtures.path("views.pth")), "views.pth")
        try assertMatchesGenerator(try loadCheckpoint(Fixtures.path("twin.safetensors")), "twin.safetensors")
    }

    /// `{"state_dict": ..., "optimizer": {...}, "epoch": 7}`: the optimizer's tensors are not taken.
    func testNestedStateDictIsFound() throws {
        let stateDict = try loadCheckpoint(Fixtures.path("nested.pt"))
        try assertMatchesGenerator(stateDict, "nested.pt")
        XCTAssertEqual(stateDict.parameterCount, 2 * 3 + 2)
    }

    func testZip64ArchiveIsRead() throws {
        try assertMatchesGenerator(try loadPyTorchCheckpoint(Fixtures.path("zip64.pth")), "zip64.pth")
    }

    /// Header keys are written in reverse; file order is the order of the data.
    func testSafetensorsAllDtypesInDataOrder() throws {
        let stateDict = try loadSafetensors(Fixtures.path("twin.safetensors"))
        try assertMatchesGenerator(stateDict, "twin.safetensors")
    }

    func testStateDictAccessors() throws {
        let path = Fixtures.path("views.pth")
        let stateDict = try loadCheckpoint(path)
        let expected = try Fixtures.expected("views.pth")
        XCTAssertEqual(stateDict.parameterCount,
                       expected.tensors.values.reduce(0) { $0 + $1.shape.reduce(1, *) })
        XCTAssertTrue(stateDict.contains("encoder.weight"))
        XCTAssertEqual(stateDict.shape("encoder.weight_t"), [4, 3])
        XCTAssertThrowsError(try stateDict.tensor("decoder.weight")) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains(path), message)
            XCTAssertTrue(message.contains("'decoder.weight'"), message)
        }
    }

    func testStateDictBuiltInMemoryKeepsOrderAndLastDuplicate() throws {
        let first = Tensor(shape: [2], data: [1, 2])
        let second = Tensor(shape: [1], data: [3])
        let replacement = Tensor(shape: [1], data: [4])
        let stateDict = StateDict(source: "memory", entries: [("b", first), ("a", second), ("b", replacement)])
        XCTAssertEqual(stateDict.keys, ["b", "a"])
        XCTAssertEqual(try stateDict.tensor("b"), replacement)
        XCTAssertEqual(stateDict.parameterCount, 2)
    }
}

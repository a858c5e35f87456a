import Checkpoints
import TensorMath
import TestSupport
import XCTest

/// bfloat16 safetensors loaded with `keepingHalfPrecision` keep the file's bits; loading stays strict.
final class HalfPrecisionLoadingTests: XCTestCase {
    func testBFloat16TensorsKeepTheirBits() throws {
        let path = scratchDirectory() + "/weights.safetensors"
        try writeSafetensors([("w", Tensor(shape: [2, 2], data: [1, -3, 0.5, 0])), ("b", Tensor(shape: [2], data: [2, -0.25]))],
                             dtype: .bfloat16, to: path)
        let kept = try loadSafetensors(path, keepingHalfPrecision: true)
        XCTAssertEqual(kept.keys, ["w", "b"])
        XCTAssertTrue(kept.tensors.isEmpty)
        XCTAssertEqual(kept.halfPrecisionTensors["w"]?.bits, [0x3F80, 0xC040, 0x3F00, 0x0000])
        XCTAssertEqual(kept.halfPrecisionTensors["w"]?.shape, [2, 2])
        XCTAssertEqual(try kept.tensor("b").data, [2, -0.25], "read as float32, widened")
        XCTAssertEqual(kept.parameterCount, 6)

        let widened = try loadSafetensors(path)
        XCTAssertTrue(widened.halfPrecisionTensors.isEmpty)
        XCTAssertEqual(widened.tensors["w"]?.data, [1, -3, 0.5, 0])

        let reader = WeightReader(kept)
        guard case .halfPrecision(let matrix) = try reader.matrix("w", shape: [2, 2]) else { return XCTFail("w was widened") }
        XCTAssertEqual(matrix.bits, [0x3F80, 0xC040, 0x3F00, 0x0000])
        XCTAssertThrowsError(try reader.matrix("b", shape: [1, 2])) { error in
            XCTAssertEqual((error as? CheckpointError)?.kind, .wrongShape)
        }
        XCTAssertThrowsError(try reader.requireEveryTensorUsed(by: "this test")) { error in
            XCTAssertEqual((error as? CheckpointError)?.tensor, "b", "a refused read does not count as a use")
        }
    }
}

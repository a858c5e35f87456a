import Artifacts
import Foundation
import Imaging
import TensorMath
import TestSupport
import VLMModels
import XCTest

/// The model-folder loader: prompts as the reference processor builds them, and the image-token
/// layout (token → tile → cell → original-image rectangle).
final class SmolVLMBundleTests: XCTestCase {
    func testPromptIdsAndLayoutMatchTheReference() throws {
        guard let directory = sharedPath("parity/smolvlm-tiny"), let photo = sharedPath("data/samples/truck.jpg") else {
            throw XCTSkip(missingShared("parity/smolvlm-tiny"))
        }
        let bundle = try SmolVLMBundle(directory: directory)
        XCTAssertEqual(bundle.name, "smolvlm-tiny")
        XCTAssertEqual(bundle.stopTokens, [49279])
        XCTAssertEqual(bundle.weightsPath, directory + "/model.safetensors")
        XCTAssertEqual(bundle.weightsSHA256.count, 64)
        let reference = try HDF5File(readingAt: directory + "/parity.h5")
        let prompt = try bundle.prompt("List all the objects in this image.", image: try decodeImage(atPath: photo), splitting: false)
        XCTAssertEqual(prompt.text, try reference.readStrings("split_off/prompt_text")[0])
        XCTAssertEqual(prompt.ids, try reference.readInt64("split_off/input_ids").values.map(Int.init))
        XCTAssertFalse(prompt.splitting)
        let layout = prompt.layout
        XCTAssertEqual(layout.positions, try reference.readInt64("split_off/image_token_positions").values.map(Int.init))
        XCTAssertEqual(layout.positions, bundle.imageTokenPositions(in: prompt.ids))
        XCTAssertEqual(layout.gridSide, 8)
        XCTAssertEqual(layout.tiles.count, 1)
        // One global tile over the whole 1800 x 1200 photo: cells of 225 x 150 pixels.
        XCTAssertEqual(layout.rectInOriginal(token: 9), ImageRect(x0: 225, y0: 150, x1: 450, y1: 300))
        XCTAssertEqual(layout.rectInOriginal(token: 63), ImageRect(x0: 1575, y0: 1050, x1: 1800, y1: 1200))
        for k in [0, 9, 37, 63] {
            XCTAssertEqual(layout.rectInOriginal(token: k), prompt.image.rectInOriginal(tile: 0, token: k), "token \(k)")
        }
    }

    func testLayoutOfSeveralTiles() throws {
        let tiles = [TileGeometry(index: 0, row: 0, col: 0, rectInOriginal: ImageRect(x0: 0, y0: 0, x1: 100, y1: 50)),
                     TileGeometry(index: 1, row: 0, col: 1, rectInOriginal: ImageRect(x0: 100, y0: 0, x1: 200, y1: 50)),
                     TileGeometry(index: 2, row: nil, col: nil, rectInOriginal: ImageRect(x0: 0, y0: 0, x1: 200, y1: 50))]
        let layout = try ImageTokenLayout(positions: Array(10 ..< 22), gridSide: 2, tiles: tiles, source: "test")
        XCTAssertEqual((0..<12).map(layout.tile(ofToken:)), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
        XCTAssertEqual((0..<4).map { [layout.cell(ofToken: $0).row, layout.cell(ofToken: $0).col] }, [[0, 0], [0, 1], [1, 0], [1, 1]])
        XCTAssertEqual(layout.rectInOriginal(token: 7), ImageRect(x0: 150, y0: 25, x1: 200, y1: 50))
        XCTAssertEqual(layout.rectInOriginal(token: 9), ImageRect(x0: 100, y0: 0, x1: 200, y1: 25))
        XCTAssertThrowsError(try ImageTokenLayout(positions: Array(0 ..< 11), gridSide: 2, tiles: tiles, source: "test")) { error in
            XCTAssertEqual(String(describing: error), "test: 11 image tokens do not fill 3 tiles of 2x2 tokens")
        }
    }
}

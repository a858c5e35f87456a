import Artifacts
import Checkpoints
import Foundation
import Geometry
import Imaging
import TensorMath
import TestSupport
import VLMModels
import XCTest

/// Idefics3ImageProcessor against the SmolVLM parity bundle (transformers + Pillow), plus size
/// rules worked out by hand from the README's description of the processor.
final class ImageProcessorTests: XCTestCase {
    private let parity = "parity/smolvlm-tiny/parity.h5"
    private let modelFolder = "models/smolvlm-256m-instruct"
    private let truck = "data/samples/truck.jpg"

    private func shared(_ relative: String) throws -> String {
        guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
        return path
    }

    private func realProcessor(splitting: Bool? = nil) throws -> Idefics3ImageProcessor {
        let folder = try shared(modelFolder)
        var processor = try Idefics3ImageProcessor(configPath: folder + "/preprocessor_config.json",
                                                   processorConfigPath: folder + "/processor_config.json")
        if let splitting { processor.doImageSplitting = splitting }
        return processor
    }

    private func truckImage() throws -> RGBImage { try decodeImage(atPath: try shared(truck)) }

    private func ints(_ file: HDF5File, _ dataset: String) throws -> [Int] {
        try file.readInt64(dataset).values.map { Int($0) }
    }

    // MARK: - Configuration

    func testConfigurationFromRealFiles() throws {
        let processor = try realProcessor()
        XCTAssertEqual(processor.longestEdge, 2048)
        XCTAssertEqual(processor.tileSize, 512)
        XCTAssertTrue(processor.doImageSplitting)
        XCTAssertTrue(processor.doResize)
        XCTAssertEqual(processor.filter, .lanczos)
        XCTAssertTrue(processor.doRescale)
        XCTAssertEqual(processor.rescaleFactor, 0.00392156862745098)
        XCTAssertTrue(processor.doNormalize)
        XCTAssertEqual(processor.imageMean, [0.5, 0.5, 0.5])
        XCTAssertEqual(processor.imageStd, [0.5, 0.5, 0.5])
        XCTAssertEqual(processor.imageSeqLen, 64)
    }

    func testBadConfigurationsThrowOneLineErrorsNamingTheFile() throws {
        let dir = scratchDirectory()
        let valid = #""size": {"longest_edge": 2048}, "max_image_size": {"longest_edge": 512}"#
        let cases: [(name: String, contents: String?, expected: String)] = [
            ("missing.json", nil, "no such file"),
            ("empty.json", "", "empty"),
            ("truncated.json", #"{"size": {"longest_e"#, "not valid JSON"),
            ("array.json", "[1, 2]", "not a JSON object"),
            ("no-tile.json", #"{"size": {"longest_edge": 2048}}"#, "missing max_image_size"),
            ("string-edge.json", #"{"size": {"longest_edge": "2048"}, "max_image_size": {"longest_edge": 512}}"#,
             "size.longest_edge has the wrong type (expected Double)"),
            ("fraction-edge.json", #"{"size": {"longest_edge": 2048.5}, "max_image_size": {"longest_edge": 512}}"#,
             "size.longest_edge should be a positive integer, found 2048.5"),
            ("no-edge.json", #"{"size": {}, "max_image_size": {"longest_edge": 512}}"#, "missing size.longest_edge"),
            ("zero-edge.json", #"{"size": {"longest_edge": 0}, "max_image_size": {"longest_edge": 512}}"#,
             "size.longest_edge should be a positive integer"),
            ("box.json", "{\(valid), \"resample\": 4}", "resample 4 is not supported"),
            ("bool-resample.json", "{\(valid), \"resample\": true}", "resample has the wrong type"),
            ("split-number.json", "{\(valid), \"do_image_splitting\": 1}", "do_image_splitting has the wrong type (expected Bool)"),
            ("mean.json", "{\(valid), \"image_mean\": [0.5, 0.5]}", "need 3 values"),
            ("std.json", "{\(valid), \"image_std\": [0.5, \"x\", 0.5]}", "image_std[1] has the wrong type"),
        ]
        for (name, contents, expected) in cases {
            let path = dir + "/" + name
            if let contents { try contents.write(toFile: path, atomically: true, encoding: .utf8) }
            XCTAssertThrowsError(try Idefics3ImageProcessor(configPath: path), name) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix(path + ": "), message)
                XCTAssertTrue(message.contains(expected), "\(name): \(message)")
                XCTAssertFalse(message.contains("\n"), message)
            }
        }
        XCTAssertThrowsError(try Idefics3ImageProcessor(configPath: dir)) { error in
            XCTAssertEqual("\(error)", dir + ": cannot be read")
        }
        let config = dir + "/ok.json", processorConfig = dir + "/processor.json"
        try "{\(valid)}".write(toFile: config, atomically: true, encoding: .utf8)
        try #"{"image_seq_len": 60}"#.write(toFile: processorConfig, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Idefics3ImageProcessor(configPath: config, processorConfigPath: processorConfig)) { error in
            XCTAssertEqual("\(error)", processorConfig + ": image_seq_len 60 is not a square number")
        }
        // The minimal file is enough: everything else takes transformers' defaults.
        let minimal = try Idefics3ImageProcessor(configPath: config)
        XCTAssertEqual(minimal.filter, .lanczos)
        XCTAssertEqual(minimal.imageSeqLen, 64)
    }

    // MARK: - Parity with transformers + Pillow

    /// libjpeg-turbo decodes truck.jpg exactly as the reference did (the EfficientSAM bundle
    /// stores the reference decode), so every later step starts from the same pixels.
    func testDecodedTruckMatchesReferenceDecode() throws {
        let image = try truckImage()
        XCTAssertEqual(try sha256Hex(ofFile: try shared(truck)),
                       try HDF5File(readingAt: try shared(parity)).attributeString("image_sha256"))
        let bundle = "parity/efficientsam-vitt/parity.h5"
        guard let path = sharedPath(bundle) else { throw XCTSkip(missingShared(bundle)) }
        let (shape, values) = try HDF5File(readingAt: path).readUInt8("image/rgb_u8")
        XCTAssertEqual(shape, [image.height, image.width, 3])
        XCTAssertTrue(values == image.pixels, "decoded truck.jpg differs from the reference rgb_u8")
    }

    func testIntermediateImagesMatchReferenceHashes() throws {
        let file = try HDF5File(readingAt: try shared(parity))
        let processor = try realProcessor()
        let image = try truckImage()
        XCTAssertEqual(try ints(file, "split_on/original_image_hw"), [image.height, image.width])

        let resized = processor.resizeToLongestEdge(image)
        XCTAssertEqual(try ints(file, "split_on/resized_image_hw"), [resized.height, resized.width])
        XCTAssertEqual(try ints(file, "split_off/resized_image_hw"), [resized.height, resized.width])
        XCTAssertEqual(sha256Hex(of: resized.pixels),
                       try file.attributeString("resized_image_sha256_hwc_u8", at: "split_on"))

        let encoderImage = try processor.resizeForEncoder(resized)
        XCTAssertEqual(try ints(file, "split_on/resized_for_encoder_hw"), [encoderImage.height, encoderImage.width])
        XCTAssertEqual(sha256Hex(of: encoderImage.pixels),
                       try file.attributeString("resized_for_encoder_sha256_hwc_u8", at: "split_on"))
    }

    /// Every tile, crops and global image, byte for byte, plus the group's size attributes.
    private func checkTiles(_ group: String, splitting: Bool) throws -> (ProcessedImage, HDF5File) {
        let file = try HDF5File(readingAt: try shared(parity))
        let processed = try realProcessor(splitting: splitting).process(try truckImage())
        XCTAssertEqual(processed.rows, try file.attributeInt("rows", at: group))
        XCTAssertEqual(processed.cols, try file.attributeInt("cols", at: group))
        XCTAssertEqual(processed.tileCount, try file.attributeInt("num_tiles", at: group))
        XCTAssertEqual(try ints(file, "\(group)/original_image_hw"),
                       [processed.originalSize.height, processed.originalSize.width])
        XCTAssertEqual(try ints(file, "\(group)/resized_image_hw"),
                       [processed.resizedSize.height, processed.resizedSize.width])
        if splitting {
            let encoder = try XCTUnwrap(processed.resizedForEncoderSize)
            XCTAssertEqual(try ints(file, "\(group)/resized_for_encoder_hw"), [encoder.height, encoder.width])
        } else {
            XCTAssertNil(processed.resizedForEncoderSize)
        }

        let (shape, reference) = try file.readUInt8("\(group)/pixel_values_uint8")
        XCTAssertEqual(shape, [1, processed.tileCount, 3, 512, 512])
        XCTAssertEqual(processed.tiles.shape, [processed.tileCount, 3, 512, 512])
        let hashesJSON = try XCTUnwrap(try file.attributeString("tile_sha256_chw_u8_json", at: group))
        let hashes = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(hashesJSON.utf8)) as? [String])
        XCTAssertEqual(hashes.count, processed.tileCount)
        let tileLength = 3 * 512 * 512
        var differing: [Int] = []
        for (index, tile) in processed.tilesUInt8.enumerated() {
            let expected = reference[index * tileLength ..< (index + 1) * tileLength]
            differing.append(zip(tile, expected).filter { $0 != $1 }.count)
            XCTAssertEqual(sha256Hex(of: tile), hashes[index], "\(group) tile \(index)")
        }
        print("\(group): differing uint8 samples per tile \(differing)")
        XCTAssertEqual(differing, [Int](repeating: 0, count: processed.tileCount))

        let (maskShape, mask) = try file.readInt64("\(group)/pixel_attention_mask")
        XCTAssertEqual(maskShape, [1, processed.tileCount, 512, 512])
        XCTAssertTrue(mask.map(UInt8.init) == processed.pixelAttentionMask)
        return (processed, file)
    }

    func testSplitOnTilesAreExact() throws {
        let (processed, _) = try checkTiles("split_on", splitting: true)
        XCTAssertEqual(processed.rows, 3)
        XCTAssertEqual(processed.cols, 4)
    }

    func testSplitOffTileAndPixelValuesAreBitExact() throws {
        let (processed, file) = try checkTiles("split_off", splitting: false)
        let reference = try file.readTensor("split_off/pixel_values")
        XCTAssertEqual(reference.shape, [1, 1, 3, 512, 512])
        let differing = zip(processed.tiles.data, reference.data).filter { $0.bitPattern != $1.bitPattern }.count
        print("split_off pixel_values: \(differing) of \(reference.count) floats differ in bits")
        XCTAssertEqual(processed.tiles.count, reference.count)
        XCTAssertEqual(differing, 0)
        // The reference tile uses all 256 levels, so this covers the whole normalisation table.
        XCTAssertEqual(Set(processed.tilesUInt8[0]).count, 256)
    }

    func testExpandedPromptsMatchProcessor() throws {
        let file = try HDF5File(readingAt: try shared(parity))
        let processor = try realProcessor()
        for (group, rows, cols) in [("split_on", 3, 4), ("split_off", 0, 0)] {
            let prompt = try file.readString("\(group)/prompt_text")
            XCTAssertEqual(prompt, "<|im_start|>User:<image>List all the objects in this image.<end_of_utterance>\nAssistant:")
            let expanded = try expandImageTokens(in: prompt, rows: rows, cols: cols)
            XCTAssertTrue(expanded == (try file.readString("\(group)/expanded_prompt_text")), group)
            let imageCount = expanded.components(separatedBy: "<image>").count - 1
            XCTAssertEqual(imageCount, try file.readInt64("\(group)/image_token_positions").values.count, group)
            XCTAssertEqual(processor.imageTokenText(rows: rows, cols: cols),
                           imageTokenText(rows: rows, cols: cols, imageSeqLen: 64))
        }
    }

    // MARK: - Token layout and geometry, by hand

    func testImageTokenLayoutWrittenOut() throws {
        let f = "<fake_token_around_image>", i = "<image>"
        XCTAssertEqual(imageTokenText(rows: 1, cols: 2, imageSeqLen: 2),
                       "\(f)<row_1_col_1>\(i)\(i)\(f)<row_1_col_2>\(i)\(i)\n\n\(f)<global-img>\(i)\(i)\(f)")
        XCTAssertEqual(imageTokenText(rows: 2, cols: 1, imageSeqLen: 1),
                       "\(f)<row_1_col_1>\(i)\n\(f)<row_2_col_1>\(i)\n\n\(f)<global-img>\(i)\(f)")
        XCTAssertEqual(imageTokenText(rows: 0, cols: 0, imageSeqLen: 1), "\(f)<global-img>\(i)\(f)")
        XCTAssertEqual(try expandImageTokens(in: "a<image>b", rows: 0, cols: 0, imageSeqLen: 1),
                       "a\(f)<global-img>\(i)\(f)b")
        for prompt in ["no image here", "<image><image>"] {
            XCTAssertThrowsError(try expandImageTokens(in: prompt, rows: 0, cols: 0)) { error in
                XCTAssertTrue("\(error)".hasPrefix("prompt: holds "), "\(error)")
            }
        }
    }

    /// Truck, split on: encoder image 2048x1536 over an 1800x1200 original, so one encoder
    /// pixel is 1800/2048 = 0.87890625 original pixels across and 1200/1536 = 0.78125 down;
    /// a 512 crop spans 450 x 400 original pixels and a token cell 56.25 x 50.
    func testTruckTileAndTokenGeometry() throws {
        let processed = try realProcessor().process(try truckImage())
        let tiles = processed.tileGeometry
        XCTAssertEqual(tiles.count, 13)
        XCTAssertEqual(tiles[5], TileGeometry(index: 5, row: 1, col: 1, rectInOriginal: ImageRect(x0: 450, y0: 400, x1: 900, y1: 800)))
        XCTAssertEqual(tiles[11].rectInOriginal, ImageRect(x0: 1350, y0: 800, x1: 1800, y1: 1200))
        XCTAssertTrue(tiles[12].isGlobal)
        XCTAssertNil(tiles[12].col)
        XCTAssertEqual(tiles[12].rectInOriginal, ImageRect(x0: 0, y0: 0, x1: 1800, y1: 1200))
        XCTAssertEqual(processed.tokensPerTileSide, 8)
        XCTAssertEqual(processed.rectInOriginal(tile: 5, token: 9), ImageRect(x0: 506.25, y0: 450, x1: 562.5, y1: 500))
        XCTAssertEqual(processed.rectInOriginal(tile: 0, token: 7), ImageRect(x0: 393.75, y0: 0, x1: 450, y1: 50))
        XCTAssertEqual(processed.rectInOriginal(tile: 12, token: 63), ImageRect(x0: 1575, y0: 1050, x1: 1800, y1: 1200))
    }

    // MARK: - Size rules worked by hand (Image preprocessing steps 1–3 of the README)

    /// A 1200x1800 portrait: height → 2048, width int(2048 · 1200/1800) = int(1365.33) = 1365,
    /// odd → 1366. Step 2: height ceil(2048/512)·512 = 2048, width int(2048 · 1366/2048) = 1366
    /// → ceil(1366/512)·512 = 1536. So 4 rows × 3 cols + global = 13 tiles; crop (3, 2) spans
    /// x 1024…1536 → ·1200/1536 → 800…1200 and y 1536…2048 → ·1800/2048 → 1350…1800.
    func testPortraitFollowsTheRules() throws {
        let pixels = (0..<1200 * 1800 * 3).map { UInt8(truncatingIfNeeded: $0 / 3 % 1200 + $0 / 3600) }
        let processed = try Idefics3ImageProcessor().process(RGBImage(width: 1200, height: 1800, pixels: pixels))
        XCTAssertEqual(processed.resizedSize, ImageSize(height: 2048, width: 1366))
        XCTAssertEqual(processed.resizedForEncoderSize, ImageSize(height: 2048, width: 1536))
        XCTAssertEqual(processed.rows, 4)
        XCTAssertEqual(processed.cols, 3)
        XCTAssertEqual(processed.tiles.shape, [13, 3, 512, 512])
        XCTAssertEqual(processed.tileGeometry[11],
                       TileGeometry(index: 11, row: 3, col: 2, rectInOriginal: ImageRect(x0: 800, y0: 1350, x1: 1200, y1: 1800)))

        // Splitting off: one 512x512 tile squashed from the 1366x2048 image.
        let single = try Idefics3ImageProcessor(doImageSplitting: false).process(RGBImage(width: 1200, height: 1800, pixels: pixels))
        XCTAssertEqual(single.tiles.shape, [1, 3, 512, 512])
        XCTAssertEqual(single.rows, 0)
        XCTAssertEqual(single.resizedSize, ImageSize(height: 2048, width: 1366))
        XCTAssertNil(single.resizedForEncoderSize)
    }

    /// Small images are upscaled too: 300x200 → 2048 x int(2048/1.5) = 1365 → 1366, then
    /// 2048 x ceil(1366/512)·512 = 1536, i.e. 3 x 4 crops as for the truck. A square → 2048x2048,
    /// 4 x 4 crops. With longest_edge 512: 512 x int(341.33) = 341 → 342, then 512x512: no
    /// split, one frame, rows = cols = 0.
    func testSmallAndSquareImagesFollowTheRules() throws {
        let processor = Idefics3ImageProcessor()
        let small = ImageSize(height: 200, width: 300)
        XCTAssertEqual(processor.resizedSize(for: small), ImageSize(height: 1366, width: 2048))
        XCTAssertEqual(processor.encoderSize(for: ImageSize(height: 1366, width: 2048)),
                       ImageSize(height: 1536, width: 2048))
        XCTAssertEqual(processor.resizedSize(for: ImageSize(height: 100, width: 100)),
                       ImageSize(height: 2048, width: 2048))
        XCTAssertEqual(processor.encoderSize(for: ImageSize(height: 2048, width: 2048)),
                       ImageSize(height: 2048, width: 2048))

        let pixels = (0..<300 * 200 * 3).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let processed = try Idefics3ImageProcessor(longestEdge: 512).process(RGBImage(width: 300, height: 200, pixels: pixels))
        XCTAssertEqual(processed.resizedSize, ImageSize(height: 342, width: 512))
        XCTAssertEqual(processed.resizedForEncoderSize, ImageSize(height: 512, width: 512))
        XCTAssertEqual(processed.rows, 0)
        XCTAssertEqual(processed.cols, 0)
        XCTAssertEqual(processed.tiles.shape, [1, 3, 512, 512])
        XCTAssertEqual(processed.tileGeometry, [TileGeometry(index: 0, row: nil, col: nil,
                                                             rectInOriginal: ImageRect(x0: 0, y0: 0, x1: 300, y1: 200))])
        XCTAssertEqual(processed.rectInOriginal(tile: 0, token: 10), ImageRect(x0: 75, y0: 25, x1: 112.5, y1: 50))
    }

    /// longest_edge 5000 on 1800x1200: 5000 x int(3333.33) = 3333 → 3334, then the 4096 cap:
    /// 4096 x int(4096 · 3334/5000) = int(2731.21) = 2731 (no even rounding after the cap).
    func testLongestEdgeIsCappedAt4096() {
        let processor = Idefics3ImageProcessor(longestEdge: 5000)
        XCTAssertEqual(processor.resizedSize(for: ImageSize(height: 1200, width: 1800)),
                       ImageSize(height: 2731, width: 4096))
        XCTAssertEqual(processor.resizedSize(for: ImageSize(height: 1800, width: 1200)),
                       ImageSize(height: 4096, width: 2731))
    }
}

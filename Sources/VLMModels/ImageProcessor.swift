import Foundation
import Geometry
import Imaging
import TensorMath

/// An axis-aligned rectangle in continuous pixel coordinates: pixel (x, y) covers
/// [x, x + 1) × [y, y + 1), so a whole W×H image is (0, 0, W, H).
public struct ImageRect: Sendable, Equatable, CustomStringConvertible {
    public var x0: Double
    public var y0: Double
    public var x1: Double
    public var y1: Double

    public init(x0: Double, y0: Double, x1: Double, y1: Double) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }

    public var description: String { "(\(x0), \(y0))–(\(x1), \(y1))" }
}

/// Where one tile of a processed image comes from.
public struct TileGeometry: Sendable, Equatable {
    /// Position in `ProcessedImage.tiles`: row-major crops first, the global image last.
    public let index: Int
    /// 0-based crop row and column; nil for the global image.
    public let row: Int?
    public let col: Int?
    /// The part of the original image the tile shows.
    public let rectInOriginal: ImageRect

    public init(index: Int, row: Int?, col: Int?, rectInOriginal: ImageRect) {
        self.index = index
        self.row = row
        self.col = col
        self.rectInOriginal = rectInOriginal
    }

    public var isGlobal: Bool { row == nil }
}

/// One image prepared for the SigLIP tower: the tiles, the grid they form, and the sizes of
/// each intermediate image, so every image token can be mapped back to original pixels.
public struct ProcessedImage: Sendable {
    /// [tiles, 3, side, side], rescaled and normalised: the model's `pixel_values`.
    public let tiles: Tensor
    /// The same tiles before rescaling, CHW uint8, one array per tile.
    public let tilesUInt8: [[UInt8]]
    /// Crop grid; both 0 when the image was not split (a single global tile).
    public let rows: Int
    public let cols: Int
    public let originalSize: ImageSize
    /// After the longest-edge resize (step 1).
    public let resizedSize: ImageSize
    /// After the resize to multiples of the tile size (step 2); nil when splitting is off.
    public let resizedForEncoderSize: ImageSize?
    /// Image tokens per tile side: the connector turns a tile into side × side tokens.
    public let tokensPerTileSide: Int

    public var tileCount: Int { tiles.shape[0] }
    public var tileSide: Int { tiles.shape[3] }

    /// The `pixel_attention_mask` for these tiles, [tiles, side, side]. A single image is
    /// never padded, so every pixel is valid.
    public var pixelAttentionMask: [UInt8] {
        [UInt8](repeating: 1, count: tiles.shape[0] * tileSide * tileSide)
    }

    /// Every tile's origin, in tile order.
    public var tileGeometry: [TileGeometry] {
        let whole = ImageRect(x0: 0, y0: 0, x1: Double(originalSize.width), y1: Double(originalSize.height))
        guard rows > 0, let encoder = resizedForEncoderSize else {
            return [TileGeometry(index: 0, row: nil, col: nil, rectInOriginal: whole)]
        }
        // Each resize maps output pixel edges linearly onto input pixel edges, so the two
        // resizes compose into one scale from encoder-image pixels to original pixels.
        let scaleX = Double(originalSize.width) / Double(encoder.width)
        let scaleY = Double(originalSize.height) / Double(encoder.height)
        let side = Double(tileSide)
        var geometry: [TileGeometry] = []
        for row in 0..<rows {
            for col in 0..<cols {
                let rect = ImageRect(x0: Double(col) * side * scaleX, y0: Double(row) * side * scaleY,
                                     x1: Double(col + 1) * side * scaleX, y1: Double(row + 1) * side * scaleY)
                geometry.append(TileGeometry(index: geometry.count, row: row, col: col, rectInOriginal: rect))
            }
        }
        geometry.append(TileGeometry(index: geometry.count, row: nil, col: nil, rectInOriginal: whole))
        return geometry
    }

    /// The original-image rectangle seen by image token `token` (0 ..< side²) of tile `tile`.
    /// The pixel shuffle merges each block of (patches per side / tokens per side)² patches into
    /// one token, row-major, so token k covers cell (k / side, k % side) of an even grid.
    public func rectInOriginal(tile: Int, token: Int) -> ImageRect {
        let side = tokensPerTileSide
        precondition(token >= 0 && token < side * side, "token \(token) outside 0..<\(side * side)")
        let tiles = tileGeometry
        precondition(tile >= 0 && tile < tiles.count, "tile \(tile) outside 0..<\(tiles.count)")
        return tiles[tile].rectInOriginal.cell(row: token / side, col: token % side, side: side)
    }
}

/// Hugging Face's `Idefics3ImageProcessor` (SmolVLM), reproduced to the bit: the same sizes,
/// Pillow's resampler on uint8 images, the same crop order and the same float rounding.
public struct Idefics3ImageProcessor: Sendable {
    /// transformers' `MAX_IMAGE_SIZE`: the longest edge after step 1 never exceeds this.
    public static let maxLongestEdge = 4096

    /// `size.longest_edge`: step 1 scales the longest edge to this, upscaling if needed.
    public var longestEdge: Int
    /// `max_image_size.longest_edge`: the side of every tile.
    public var tileSize: Int
    public var doImageSplitting: Bool
    public var doResize: Bool
    public var filter: PILResampleFilter
    public var doRescale: Bool
    public var rescaleFactor: Double
    public var doNormalize: Bool
    public var imageMean: [Float]
    public var imageStd: [Float]
    /// `image_seq_len` of processor_config.json: image tokens per tile (a square number).
    public var imageSeqLen: Int

    public init(longestEdge: Int = 2048, tileSize: Int = 512, doImageSplitting: Bool = true,
                doResize: Bool = true, filter: PILResampleFilter = .lanczos,
                doRescale: Bool = true, rescaleFactor: Double = 1.0 / 255,
                doNormalize: Bool = true, imageMean: [Float] = [0.5, 0.5, 0.5], imageStd: [Float] = [0.5, 0.5, 0.5],
                imageSeqLen: Int = 64) {
        precondition(longestEdge > 0 && tileSize > 0, "longestEdge and tileSize must be positive")
        precondition(imageMean.count == 3 && imageStd.count == 3, "imageMean and imageStd need 3 channels")
        precondition(imageSeqLen > 0 && squareRoot(imageSeqLen) != nil, "imageSeqLen \(imageSeqLen) is not a square")
        self.longestEdge = longestEdge
        self.tileSize = tileSize
        self.doImageSplitting = doImageSplitting
        self.doResize = doResize
        self.filter = filter
        self.doRescale = doRescale
        self.rescaleFactor = rescaleFactor
        self.doNormalize = doNormalize
        self.imageMean = imageMean
        self.imageStd = imageStd
        self.imageSeqLen = imageSeqLen
    }

    /// Step 1 size: the longest edge becomes `longestEdge`, the other `int(longestEdge / aspect)`
    /// raised to even, then both are capped so the longest edge is at most 4096.
    public func resizedSize(for original: ImageSize) -> ImageSize {
        var width = original.width, height = original.height
        var aspect = Double(width) / Double(height)
        if width >= height {
            width = longestEdge
            height = Int(Double(width) / aspect)
            if height % 2 != 0 { height += 1 }
        } else {
            height = longestEdge
            width = Int(Double(height) * aspect)
            if width % 2 != 0 { width += 1 }
        }
        width = max(width, 1)
        height = max(height, 1)
        aspect = Double(width) / Double(height)
        if width >= height && width > Self.maxLongestEdge {
            width = Self.maxLongestEdge
            height = Int(Double(width) / aspect)
        } else if height > width && height > Self.maxLongestEdge {
            height = Self.maxLongestEdge
            width = Int(Double(height) * aspect)
        }
        return ImageSize(height: max(height, 1), width: max(width, 1))
    }

    /// Step 2 size (splitting on): the longest edge rounded up to a multiple of the tile size,
    /// the other edge follows the aspect ratio and is rounded up to a multiple too. Can be 0 for
    /// an extremely thin image, which `process` rejects.
    public func encoderSize(for resized: ImageSize) -> ImageSize {
        let aspect = Double(resized.width) / Double(resized.height)
        func roundUp(_ value: Int) -> Int { (value + tileSize - 1) / tileSize * tileSize }
        if resized.width >= resized.height {
            let width = roundUp(resized.width)
            return ImageSize(height: roundUp(Int(Double(width) / aspect)), width: width)
        }
        let height = roundUp(resized.height)
        return ImageSize(height: height, width: roundUp(Int(Double(height) * aspect)))
    }

    /// Step 1 image (the input itself when `doResize` is off).
    public func resizeToLongestEdge(_ image: RGBImage) -> RGBImage {
        guard doResize else { return image }
        let size = resizedSize(for: ImageSize(height: image.height, width: image.width))
        return resize(image, to: size)
    }

    /// Step 2 image, from the step-1 image.
    public func resizeForEncoder(_ resized: RGBImage) throws -> RGBImage {
        let size = encoderSize(for: ImageSize(height: resized.height, width: resized.width))
        guard size.width > 0, size.height > 0 else {
            throw ImageProcessorError(subject: "image \(ImageSize(height: resized.height, width: resized.width))",
                                      reason: "too elongated to resize to multiples of \(tileSize) (got \(size))")
        }
        return resize(resized, to: size)
    }

    /// The whole pipeline: step 1, then either crops plus a global tile (splitting on) or one
    /// squashed tile (splitting off), then rescaling and normalisation.
    public func process(_ image: RGBImage) throws -> ProcessedImage {
        let original = ImageSize(height: image.height, width: image.width)
        let resized = resizeToLongestEdge(image)
        let resizedSize = ImageSize(height: resized.height, width: resized.width)
        var tiles: [[UInt8]] = []
        var rows = 0, cols = 0
        var encoderSize: ImageSize?
        if doImageSplitting {
            let encoderImage = try resizeForEncoder(resized)
            encoderSize = ImageSize(height: encoderImage.height, width: encoderImage.width)
            if encoderImage.width > tileSize || encoderImage.height > tileSize {
                rows = encoderImage.height / tileSize
                cols = encoderImage.width / tileSize
                for row in 0..<rows {
                    for col in 0..<cols {
                        tiles.append(planarCrop(encoderImage, x: col * tileSize, y: row * tileSize))
                    }
                }
            }
            tiles.append(planarCrop(squashedToTile(encoderImage), x: 0, y: 0))
        } else {
            tiles.append(planarCrop(squashedToTile(resized), x: 0, y: 0))
        }
        return ProcessedImage(tiles: normalised(tiles), tilesUInt8: tiles, rows: rows, cols: cols,
                              originalSize: original, resizedSize: resizedSize,
                              resizedForEncoderSize: encoderSize, tokensPerTileSide: squareRoot(imageSeqLen)!)
    }

    /// `imageTokenText` for this processor's `imageSeqLen`.
    public func imageTokenText(rows: Int, cols: Int) -> String {
        VLMModels.imageTokenText(rows: rows, cols: cols, imageSeqLen: imageSeqLen)
    }

    private func resize(_ image: RGBImage, to size: ImageSize) -> RGBImage {
        resizePIL(image, width: size.width, height: size.height, filter: filter)
    }

    /// The global tile: the whole image stretched to tile × tile, aspect ratio not kept.
    private func squashedToTile(_ image: RGBImage) -> RGBImage {
        image.width == tileSize && image.height == tileSize ? image
            : resize(image, to: ImageSize(height: tileSize, width: tileSize))
    }

    /// A tile × tile crop at (x, y) of an HWC image, as CHW planes.
    private func planarCrop(_ image: RGBImage, x: Int, y: Int) -> [UInt8] {
        let side = tileSize, plane = side * side
        return [UInt8](unsafeUninitializedCapacity: 3 * plane) { output, initialised in
            image.pixels.withUnsafeBufferPointer { input in
                for row in 0..<side {
                    let source = input.baseAddress! + ((y + row) * image.width + x) * 3
                    for channel in 0..<3 {
                        let target = output.baseAddress! + channel * plane + row * side
                        for column in 0..<side { target[column] = source[column * 3 + channel] }
                    }
                }
            }
            initialised = 3 * plane
        }
    }

    /// Rescale then normalise through a per-channel table of the 256 possible values. The
    /// rescale is done in double and rounded to float before the float normalisation, as
    /// transformers does (`astype(float64) * factor`, then float32 `(x − mean) / std`).
    private func normalised(_ tiles: [[UInt8]]) -> Tensor {
        let plane = tileSize * tileSize
        var table = [Float](repeating: 0, count: 3 * 256)
        for channel in 0..<3 {
            for value in 0..<256 {
                var x = doRescale ? Float(Double(value) * rescaleFactor) : Float(value)
                if doNormalize { x = (x - imageMean[channel]) / imageStd[channel] }
                table[channel * 256 + value] = x
            }
        }
        return Tensor(shape: [tiles.count, 3, tileSize, tileSize]) { output in
            table.withUnsafeBufferPointer { lookup in
                for (index, tile) in tiles.enumerated() {
                    tile.withUnsafeBufferPointer { samples in
                        for channel in 0..<3 {
                            let offset = (index * 3 + channel) * plane
                            let channelTable = lookup.baseAddress! + channel * 256
                            for i in 0..<plane {
                                output[offset + i] = channelTable[Int(samples[channel * plane + i])]
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The text that replaces one `<image>` in the prompt: for each crop (row-major)
/// `<fake_token_around_image><row_r_col_c>` and `imageSeqLen` `<image>`, a newline after each
/// row, then a newline and the global image wrapped in fake tokens. Without a split
/// (rows = cols = 0) only the global image.
public func imageTokenText(rows: Int, cols: Int, imageSeqLen: Int = 64) -> String {
    precondition((rows == 0) == (cols == 0) && rows >= 0 && cols >= 0, "grid \(rows)x\(cols) is invalid")
    let imageTokens = String(repeating: "<image>", count: imageSeqLen)
    let globalImage = "<fake_token_around_image><global-img>" + imageTokens + "<fake_token_around_image>"
    guard rows > 0 else { return globalImage }
    var text = ""
    for row in 1...rows {
        for col in 1...cols { text += "<fake_token_around_image><row_\(row)_col_\(col)>" + imageTokens }
        text += "\n"
    }
    return text + "\n" + globalImage
}

/// Replaces the single `<image>` of a chat-template rendering with `imageTokenText`.
/// Throws unless the prompt holds exactly one `<image>`: each image needs its own grid.
public func expandImageTokens(in prompt: String, rows: Int, cols: Int, imageSeqLen: Int = 64) throws -> String {
    let pieces = prompt.components(separatedBy: "<image>")
    guard pieces.count == 2 else {
        throw ImageProcessorError(subject: "prompt",
                                  reason: "holds \(pieces.count - 1) <image> markers, expected exactly one")
    }
    return pieces[0] + imageTokenText(rows: rows, cols: cols, imageSeqLen: imageSeqLen) + pieces[1]
}

/// The integer square root of `value`, or nil when it is not a perfect square.
private func squareRoot(_ value: Int) -> Int? {
    let root = Int(Double(value).squareRoot().rounded())
    return root * root == value ? root : nil
}

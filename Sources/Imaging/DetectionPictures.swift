/// The pictures a person looks at after a batch: every detection over its photo
/// (`detectionOverlay`), and one panel per detection (`detectionPanel`: photo, attention, points,
/// mask side by side). Imaging knows nothing of the method's types, so a detection arrives here as
/// a `DetectionPicture` in plain numbers.
public struct DetectionPicture: Sendable, Equatable {
    /// A point prompt in pixel coordinates (pixel (c, r) covers [c, c + 1) × [r, r + 1)).
    public struct Point: Sendable, Equatable {
        public var x: Float
        public var y: Float
        public var positive: Bool

        public init(x: Float, y: Float, positive: Bool) {
            self.x = x
            self.y = y
            self.positive = positive
        }
    }

    /// A box in pixel edges: (x0, y0) top-left, (x1, y1) bottom-right.
    public struct Box: Sendable, Equatable {
        public var x0: Float
        public var y0: Float
        public var x1: Float
        public var y1: Float

        public init(x0: Float, y0: Float, x1: Float, y1: Float) {
            self.x0 = x0
            self.y0 = y0
            self.x1 = x1
            self.y1 = y1
        }
    }

    public var name: String
    public var score: Float
    /// Row-major 0/1 mask at the photo's size.
    public var mask: [UInt8]
    public var box: Box
    public var iteration: Int
    public var points: [Point]

    public init(name: String, score: Float, mask: [UInt8], box: Box, iteration: Int = 0, points: [Point] = []) {
        self.name = name
        self.score = score
        self.mask = mask
        self.box = box
        self.iteration = iteration
        self.points = points
    }

    /// The label drawn at the detection: "name 0.87".
    public var label: String { "\(name) \(Self.scoreText(score))" }

    /// Fixed qualitative mask colours, taken in turn (detection k gets `palette[k % palette.count]`).
    /// Pure green and red are left out: they are the point markers' colours.
    public static let palette: [SIMD3<UInt8>] = [
        SIMD3(31, 119, 180), SIMD3(255, 127, 14), SIMD3(148, 103, 189), SIMD3(23, 190, 207),
        SIMD3(227, 119, 194), SIMD3(188, 189, 34), SIMD3(140, 86, 75), SIMD3(240, 228, 66),
        SIMD3(0, 158, 115), SIMD3(86, 180, 233),
    ]
    /// Mask fill opacity in 256ths (about 0.45), as `fillMask` applies it.
    public static let fillAlpha = 115
    /// Point markers, as the points stage draws them: positives green, negatives red.
    public static let positiveColour = SIMD3<UInt8>(20, 210, 60)
    public static let negativeColour = SIMD3<UInt8>(230, 30, 30)

    /// The palette colour of detection `index`.
    public static func colour(_ index: Int) -> SIMD3<UInt8> {
        palette[((index % palette.count) + palette.count) % palette.count]
    }

    /// A score with two decimals ("0.87"), without Foundation.
    public static func scoreText(_ score: Float) -> String {
        guard score.isFinite else { return score.isNaN ? "nan" : (score < 0 ? "-inf" : "inf") }
        let hundredths = Int((abs(score) * 100).rounded())
        let fraction = hundredths % 100
        return (score < 0 && hundredths > 0 ? "-" : "") + "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }

    /// The font scale of the overlay's labels: about a 450th of the photo's longer side (4 for
    /// 1800 × 1200), at least 1.
    public static func labelScale(width: Int, height: Int) -> Int {
        max(1, (max(width, height) + 225) / 450)
    }

    /// Where a label's box goes: just above the box's top-left corner, or inside the box's top when
    /// there is no room above, then moved the least needed to lie inside the image (at x = 0 or
    /// y = 0 when it is wider or taller than the image).
    public static func labelOrigin(box: Box, labelWidth: Int, labelHeight: Int,
                                   imageWidth: Int, imageHeight: Int) -> (x: Int, y: Int) {
        let left = box.x0.isFinite ? Int(box.x0.rounded(.down)) : 0
        let top = box.y0.isFinite ? Int(box.y0.rounded(.down)) : 0
        let y = top - labelHeight >= 0 ? top - labelHeight : top
        return (max(0, min(left, imageWidth - labelWidth)), max(0, min(y, imageHeight - labelHeight)))
    }

    /// Every label's top-left corner, in order: at `labelOrigin`, then moved down past any label
    /// already placed that it would cover, as long as it stays inside the image (otherwise it
    /// keeps its first place). `sizes` are the labels' (width, height).
    public static func labelPlacements(boxes: [Box], sizes: [(width: Int, height: Int)],
                                       imageWidth: Int, imageHeight: Int) -> [(x: Int, y: Int)] {
        precondition(boxes.count == sizes.count, "labelPlacements: \(boxes.count) boxes for \(sizes.count) labels")
        var placed: [(x: Int, y: Int, width: Int, height: Int)] = []
        for (box, size) in zip(boxes, sizes) {
            let first = labelOrigin(box: box, labelWidth: size.width, labelHeight: size.height,
                                    imageWidth: imageWidth, imageHeight: imageHeight)
            var y = first.y
            // Each move goes strictly down, past one placed label, so this ends.
            while let below = placed.first(where: { first.x < $0.x + $0.width && $0.x < first.x + size.width
                                                        && y < $0.y + $0.height && $0.y < y + size.height }) {
                y = below.y + below.height
            }
            if y + size.height > imageHeight { y = first.y }
            placed.append((first.x, y, size.width, size.height))
        }
        return placed.map { ($0.x, $0.y) }
    }

    public static let panelMargin = 8
    public static let panelTitleScale = 3
    public static let panelCaptionScale = 3
    public static let panelCaptions = ["photo", "attention", "points", "mask"]
    static let panelBackground = SIMD3<UInt8>(28, 28, 28)

    /// The size of each of the panel's four pictures: the photo scaled (never up) so that four of
    /// them with margins fit in `maxWidth`, aspect ratio kept.
    public static func panelTileSize(photoWidth: Int, photoHeight: Int, maxWidth: Int = 1600) -> (width: Int, height: Int) {
        let width = max(1, min(photoWidth, (maxWidth - 5 * panelMargin) / 4))
        let height = max(1, Int((Double(photoHeight) * Double(width) / Double(photoWidth)).rounded()))
        return (width, height)
    }

    /// Marker radius for a picture of this size: a 150th of the longer side, at least 4 pixels.
    static func markerRadius(width: Int, height: Int) -> Float {
        max(4, Float(max(width, height)) / 150)
    }

    /// Draws points (coordinates multiplied by `scale`), negatives first so positives stay on top.
    static func drawPoints(_ points: [Point], on image: inout RGBImage, scale: Float, radius: Float) {
        for positive in [false, true] {
            for point in points where point.positive == positive && point.x.isFinite && point.y.isFinite {
                drawMarker(on: &image, x: point.x * scale, y: point.y * scale, radius: radius,
                           colour: positive ? positiveColour : negativeColour)
            }
        }
    }

    /// Black on light colours, white on dark ones (Rec. 601 luma).
    static func textColour(on background: SIMD3<UInt8>) -> SIMD3<UInt8> {
        let luma = 299 * Int(background.x) + 587 * Int(background.y) + 114 * Int(background.z)
        return luma > 150_000 ? SIMD3(0, 0, 0) : SIMD3(255, 255, 255)
    }
}

/// The photo with every detection: masks filled semi-transparently in the palette's colours (in
/// the given order, later ones over earlier ones), their outlines, the point prompts, and each
/// label ("name 0.87") on its colour near the box's top-left, inside the image and below any
/// earlier label it would cover. Every mask must have the photo's size.
public func detectionOverlay(_ photo: RGBImage, _ detections: [DetectionPicture]) -> RGBImage {
    var image = photo
    for (k, detection) in detections.enumerated() { fillMask(on: &image, mask: detection.mask, colour: DetectionPicture.colour(k)) }
    for (k, detection) in detections.enumerated() { drawOutline(on: &image, of: detection.mask, colour: DetectionPicture.colour(k)) }
    let radius = DetectionPicture.markerRadius(width: photo.width, height: photo.height)
    for detection in detections { DetectionPicture.drawPoints(detection.points, on: &image, scale: 1, radius: radius) }
    let scale = DetectionPicture.labelScale(width: photo.width, height: photo.height)
    let origins = DetectionPicture.labelPlacements(
        boxes: detections.map(\.box), sizes: detections.map { (textWidth($0.label, scale: scale), textHeight(scale: scale)) },
        imageWidth: photo.width, imageHeight: photo.height)
    for (k, (detection, origin)) in zip(detections, origins).enumerated() {
        let colour = DetectionPicture.colour(k)
        drawText(detection.label, on: &image, x: origin.x, y: origin.y, scale: scale,
                 colour: DetectionPicture.textColour(on: colour), background: colour)
    }
    return image
}

/// One detection's panel: a title (name, score, iteration) over four captioned pictures side by
/// side — the photo; the attention map over it (`heatMapOverlay`); the map with the point
/// prompts; the mask in the detection's colour with its outline — scaled down so the panel is at
/// most `maxWidth` wide. `attention` is the detection's map at the photo's size, row-major in
/// [0, 1]; an empty one means no map, and the two map pictures then show the photo dimmed.
/// `colourIndex` picks the palette colour (the detection's index in the overlay, to match it).
public func detectionPanel(_ photo: RGBImage, _ detection: DetectionPicture, attention: [Float], colourIndex: Int = 0,
                           maxWidth: Int = 1600) -> RGBImage {
    typealias Style = DetectionPicture
    precondition(detection.mask.count == photo.width * photo.height,
                 "detectionPanel: a mask of \(detection.mask.count) pixels for \(photo.width)x\(photo.height)")
    precondition(attention.isEmpty || attention.count == photo.width * photo.height,
                 "detectionPanel: an attention map of \(attention.count) values for \(photo.width)x\(photo.height)")
    let tile = Style.panelTileSize(photoWidth: photo.width, photoHeight: photo.height, maxWidth: maxWidth)
    let photoTile = downscaleAreaAverage(photo, width: tile.width, height: tile.height)

    var mapTile: RGBImage
    if !attention.isEmpty {
        mapTile = downscaleAreaAverage(heatMapOverlay(photo, values: attention), width: tile.width, height: tile.height)
    } else {
        mapTile = photoTile
        mapTile.pixels.withUnsafeMutableBufferPointer { pixels in
            for i in pixels.indices { pixels[i] = UInt8((UInt32(pixels[i]) + 2 * UInt32(Style.panelBackground.x)) / 3) }
        }
    }
    var pointsTile = mapTile
    Style.drawPoints(detection.points, on: &pointsTile, scale: Float(tile.width) / Float(photo.width),
                     radius: Style.markerRadius(width: tile.width, height: tile.height))
    if attention.isEmpty {
        let note = "no map"
        drawText(note, on: &mapTile, x: (tile.width - textWidth(note, scale: Style.panelCaptionScale)) / 2,
                 y: (tile.height - textHeight(scale: Style.panelCaptionScale)) / 2, scale: Style.panelCaptionScale)
    }

    var maskTile = photoTile
    let smallMask = downscaleAreaAverage(detection.mask.map { $0 != 0 ? 255 : 0 }, width: photo.width, height: photo.height,
                                         channels: 1, toWidth: tile.width, toHeight: tile.height).map { UInt8($0 >= 128 ? 1 : 0) }
    fillMask(on: &maskTile, mask: smallMask, colour: Style.colour(colourIndex))
    drawOutline(on: &maskTile, of: smallMask, colour: Style.colour(colourIndex))

    // Layout: margin, title, margin, pictures, half a margin, captions, margin; a column is as
    // wide as its picture or its caption.
    let m = Style.panelMargin
    let slot = max(tile.width, Style.panelCaptions.map { textWidth($0, scale: Style.panelCaptionScale) }.max()!)
    let tilesTop = m + textHeight(scale: Style.panelTitleScale) + m
    let captionTop = tilesTop + tile.height + m / 2
    let width = 5 * m + 4 * slot, height = captionTop + textHeight(scale: Style.panelCaptionScale) + m
    let background = Style.panelBackground
    var panel = RGBImage(width: width, height: height,
                         pixels: [UInt8](unsafeUninitializedCapacity: width * height * 3) { buffer, count in
                             for i in 0..<width * height {
                                 buffer[3 * i] = background.x
                                 buffer[3 * i + 1] = background.y
                                 buffer[3 * i + 2] = background.z
                             }
                             count = width * height * 3
                         })
    let title = "\(detection.name)  score \(Style.scoreText(detection.score))  iteration \(detection.iteration)"
    drawText(title, on: &panel, x: m, y: m, scale: Style.panelTitleScale, background: nil)
    for (k, (picture, caption)) in zip([photoTile, mapTile, pointsTile, maskTile], Style.panelCaptions).enumerated() {
        let left = m + k * (slot + m)
        paste(picture, on: &panel, x: left, y: tilesTop)
        drawText(caption, on: &panel, x: left, y: captionTop, scale: Style.panelCaptionScale, background: nil)
    }
    return panel
}

/// Blends `colour` over every pixel where `mask` (row-major, the image's size) is non-zero, with
/// opacity `alpha`/256: a channel p becomes `(p · (256 − alpha) + colour · alpha + 128) >> 8`.
public func fillMask(on image: inout RGBImage, mask: [UInt8], colour: SIMD3<UInt8>, alpha: Int = DetectionPicture.fillAlpha) {
    precondition(mask.count == image.width * image.height, "fillMask: a mask of \(mask.count) pixels for \(image.width)x\(image.height)")
    precondition((0...256).contains(alpha), "fillMask: alpha \(alpha) is not in 0...256")
    let paint = (UInt32(colour.x) * UInt32(alpha) + 128, UInt32(colour.y) * UInt32(alpha) + 128,
                 UInt32(colour.z) * UInt32(alpha) + 128)
    let keep = UInt32(256 - alpha)
    mask.withUnsafeBufferPointer { mask in
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            for i in 0..<mask.count where mask[i] != 0 {
                pixels[3 * i] = UInt8((UInt32(pixels[3 * i]) * keep + paint.0) >> 8)
                pixels[3 * i + 1] = UInt8((UInt32(pixels[3 * i + 1]) * keep + paint.1) >> 8)
                pixels[3 * i + 2] = UInt8((UInt32(pixels[3 * i + 2]) * keep + paint.2) >> 8)
            }
        }
    }
}

/// Copies `picture` into `image` with its top-left corner at (x, y); it must fit.
func paste(_ picture: RGBImage, on image: inout RGBImage, x: Int, y: Int) {
    precondition(x >= 0 && y >= 0 && x + picture.width <= image.width && y + picture.height <= image.height,
                 "paste: \(picture.width)x\(picture.height) at (\(x), \(y)) does not fit \(image.width)x\(image.height)")
    let rowBytes = picture.width * 3, imageWidth = image.width
    picture.pixels.withUnsafeBufferPointer { source in
        image.pixels.withUnsafeMutableBufferPointer { target in
            for row in 0..<picture.height {
                (target.baseAddress! + ((y + row) * imageWidth + x) * 3).update(from: source.baseAddress! + row * rowBytes, count: rowBytes)
            }
        }
    }
}

/// `image` scaled to at most `maxWidth` pixels wide by area averaging, aspect ratio kept; an
/// image already narrow enough is returned as it is.
public func downscale(_ image: RGBImage, maxWidth: Int) -> RGBImage {
    precondition(maxWidth >= 1, "downscale: maxWidth \(maxWidth) must be positive")
    guard image.width > maxWidth else { return image }
    let height = max(1, Int((Double(image.height) * Double(maxWidth) / Double(image.width)).rounded()))
    return downscaleAreaAverage(image, width: maxWidth, height: height)
}

/// Resizes by area averaging: each output pixel is the mean of the source area it covers, source
/// pixels cut by its edges counting by the fraction inside. Meant for shrinking (it does not
/// interpolate when enlarging).
public func downscaleAreaAverage(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    RGBImage(width: width, height: height,
             pixels: downscaleAreaAverage(image.pixels, width: image.width, height: image.height, channels: 3,
                                          toWidth: width, toHeight: height))
}

/// Area averaging of row-major interleaved samples (`channels` a pixel): separable, rows first.
func downscaleAreaAverage(_ samples: [UInt8], width: Int, height: Int, channels: Int,
                          toWidth: Int, toHeight: Int) -> [UInt8] {
    precondition(width >= 1 && height >= 1 && toWidth >= 1 && toHeight >= 1, "downscaleAreaAverage: sizes must be positive")
    precondition(samples.count == width * height * channels, "downscaleAreaAverage: \(samples.count) samples for \(width)x\(height)x\(channels)")
    let columns = AreaWeights(from: width, to: toWidth), rows = AreaWeights(from: height, to: toHeight)
    // Horizontal pass: height × toWidth × channels, in Float.
    var across = [Float](repeating: 0, count: height * toWidth * channels)
    samples.withUnsafeBufferPointer { source in
        across.withUnsafeMutableBufferPointer { target in
            for y in 0..<height {
                let sourceRow = y * width * channels, targetRow = y * toWidth * channels
                for x in 0..<toWidth {
                    for k in columns.offsets[x]..<columns.offsets[x + 1] {
                        let weight = columns.weights[k], from = sourceRow + columns.indices[k] * channels
                        for c in 0..<channels { target[targetRow + x * channels + c] += weight * Float(source[from + c]) }
                    }
                }
            }
        }
    }
    // Vertical pass into bytes.
    let rowLength = toWidth * channels
    return [UInt8](unsafeUninitializedCapacity: toHeight * rowLength) { target, count in
        across.withUnsafeBufferPointer { source in
            for y in 0..<toHeight {
                for i in 0..<rowLength {
                    var sum: Float = 0
                    for k in rows.offsets[y]..<rows.offsets[y + 1] {
                        sum += rows.weights[k] * source[rows.indices[k] * rowLength + i]
                    }
                    target[y * rowLength + i] = UInt8(min(max(sum.rounded(), 0), 255))
                }
            }
        }
        count = toHeight * rowLength
    }
}

/// For each output index along one axis, the source indices it covers and their weights (the
/// covered fraction of each, divided by the output pixel's width in source pixels).
private struct AreaWeights {
    var offsets: [Int] = [0]
    var indices: [Int] = []
    var weights: [Float] = []

    init(from source: Int, to target: Int) {
        let step = Double(source) / Double(target)
        for j in 0..<target {
            let start = Double(j) * step, end = min(Double(j + 1) * step, Double(source))
            var i = Int(start.rounded(.down))
            while Double(i) < end && i < source {
                let covered = min(end, Double(i + 1)) - max(start, Double(i))
                if covered > 0 {
                    indices.append(i)
                    weights.append(Float(covered / step))
                }
                i += 1
            }
            offsets.append(indices.count)
        }
    }
}

import Imaging
import XCTest

final class DetectionPicturesTests: XCTestCase {
    func uniform(_ width: Int, _ height: Int, _ colour: SIMD3<UInt8>) -> RGBImage {
        RGBImage(width: width, height: height, pixels: (0..<width * height).flatMap { _ in [colour.x, colour.y, colour.z] })
    }

    func pixel(_ image: RGBImage, _ x: Int, _ y: Int) -> SIMD3<UInt8> {
        let i = (y * image.width + x) * 3
        return SIMD3(image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
    }

    /// A rectangular 0/1 mask x0..<x1 × y0..<y1 with its box.
    func rectangle(_ width: Int, _ height: Int, x0: Int, y0: Int, x1: Int, y1: Int, name: String = "a",
                   score: Float = 0.5, points: [DetectionPicture.Point] = []) -> DetectionPicture {
        var mask = [UInt8](repeating: 0, count: width * height)
        for y in y0..<y1 { for x in x0..<x1 { mask[y * width + x] = 1 } }
        return DetectionPicture(name: name, score: score, mask: mask,
                                box: DetectionPicture.Box(x0: Float(x0), y0: Float(y0), x1: Float(x1), y1: Float(y1)), points: points)
    }

    func testOverlayBlendsInsideTheMaskAndLeavesTheRestAlone() {
        let photo = uniform(100, 80, SIMD3(100, 150, 200))
        let first = rectangle(100, 80, x0: 40, y0: 30, x1: 80, y1: 70)
        let second = rectangle(100, 80, x0: 5, y0: 50, x1: 30, y1: 78, name: "b")
        let overlay = detectionOverlay(photo, [first, second])
        // Inside the first mask, away from its outline and label: palette[0] = (31, 119, 180) at
        // alpha 115/256 over (100, 150, 200): (100·141 + 31·115 + 128) >> 8 = 17793 >> 8 = 69,
        // (150·141 + 119·115 + 128) >> 8 = 34963 >> 8 = 136, (200·141 + 180·115 + 128) >> 8 = 49028 >> 8 = 191.
        XCTAssertEqual(DetectionPicture.palette[0], SIMD3(31, 119, 180))
        XCTAssertEqual(pixel(overlay, 60, 50), SIMD3(69, 136, 191))
        // Inside the second: palette[1] = (255, 127, 14): (14100 + 29325 + 128) >> 8 = 170,
        // (21150 + 14605 + 128) >> 8 = 140, (28200 + 1610 + 128) >> 8 = 116.
        XCTAssertEqual(pixel(overlay, 17, 66), SIMD3(170, 140, 116))
        // Outside every mask, outline, marker and label: the photo.
        XCTAssertEqual(pixel(overlay, 95, 5), SIMD3(100, 150, 200))
        XCTAssertEqual(pixel(overlay, 60, 75), SIMD3(100, 150, 200))
        // The outline: the mask's boundary pixel and the one outside it, in the solid colour; two
        // pixels out, the photo.
        XCTAssertEqual(pixel(overlay, 40, 50), DetectionPicture.palette[0])
        XCTAssertEqual(pixel(overlay, 39, 50), DetectionPicture.palette[0])
        XCTAssertEqual(pixel(overlay, 38, 50), SIMD3(100, 150, 200))
    }

    func testFillMaskArithmetic() {
        var image = uniform(2, 1, SIMD3(0, 255, 10))
        fillMask(on: &image, mask: [1, 0], colour: SIMD3(255, 0, 10), alpha: 128)
        // (0·128 + 255·128 + 128) >> 8 = 128; (255·128 + 0 + 128) >> 8 = 128; (10·128 + 10·128 + 128) >> 8 = 10.
        XCTAssertEqual(image.pixels, [128, 128, 10, 0, 255, 10])
    }

    func testLabelSitsAboveTheBoxAndInsideTheImage() {
        let photo = uniform(100, 80, SIMD3(100, 150, 200))
        let object = rectangle(100, 80, x0: 40, y0: 30, x1: 80, y1: 70, name: "cat", score: 0.87)
        XCTAssertEqual(object.label, "cat 0.87")
        let width = textWidth("cat 0.87"), height = textHeight()
        XCTAssertEqual(DetectionPicture.labelScale(width: 100, height: 80), 1)
        XCTAssertEqual(DetectionPicture.labelScale(width: 1800, height: 1200), 4)
        let origin = DetectionPicture.labelOrigin(box: object.box, labelWidth: width, labelHeight: height, imageWidth: 100, imageHeight: 80)
        XCTAssertEqual(origin.x, 40)
        XCTAssertEqual(origin.y, 30 - height)
        let overlay = detectionOverlay(photo, [object])
        XCTAssertEqual(pixel(overlay, 40, 30 - height), DetectionPicture.palette[0], "label background at its top-left")
        XCTAssertEqual(pixel(overlay, 40 + width - 1, 30 - 1), DetectionPicture.palette[0], "label background at its bottom-right")
        XCTAssertEqual(pixel(overlay, 40 + width, 30 - height), SIMD3(100, 150, 200), "just right of the label")
    }

    func testLabelAtTheBorderStaysInsideTheImage() {
        let width = 100, height = 80
        let photo = uniform(width, height, SIMD3(100, 150, 200))
        // A box in the bottom-right corner: the label is moved left to end at the image's edge.
        let corner = rectangle(width, height, x0: 95, y0: 74, x1: 100, y1: 80, name: "long name", score: 1)
        let labelWidth = textWidth(corner.label), labelHeight = textHeight()
        let origin = DetectionPicture.labelOrigin(box: corner.box, labelWidth: labelWidth, labelHeight: labelHeight,
                                          imageWidth: width, imageHeight: height)
        XCTAssertEqual(origin.x, width - labelWidth)
        XCTAssertEqual(origin.y, 74 - labelHeight)
        // A box at the top-left: no room above, so the label goes inside the box's top.
        let top = rectangle(width, height, x0: 0, y0: 0, x1: 20, y1: 20)
        XCTAssertTrue(DetectionPicture.labelOrigin(box: top.box, labelWidth: 30, labelHeight: 9, imageWidth: width, imageHeight: height) == (0, 0))
        // A box hard against the bottom with no room above (a short image): the label moves up to fit.
        XCTAssertTrue(DetectionPicture.labelOrigin(box: DetectionPicture.Box(x0: 3, y0: 5, x1: 9, y1: 12), labelWidth: 20, labelHeight: 9,
                                           imageWidth: 40, imageHeight: 12) == (3, 3))
        // Wider than the image: starts at 0 and is clipped on the right.
        XCTAssertTrue(DetectionPicture.labelOrigin(box: corner.box, labelWidth: 500, labelHeight: 9, imageWidth: width, imageHeight: height) == (0, 65))
        // Drawn: the label's corners are inside the image and carry its background colour.
        let overlay = detectionOverlay(photo, [corner])
        XCTAssertEqual(pixel(overlay, width - 1, 74 - 1), DetectionPicture.palette[0])
        XCTAssertEqual(pixel(overlay, width - labelWidth, 74 - labelHeight), DetectionPicture.palette[0])
        XCTAssertEqual(pixel(overlay, width - labelWidth - 1, 74 - labelHeight), SIMD3(100, 150, 200))
    }

    func testLabelsThatWouldCoverEachOtherAreStacked() {
        let box = DetectionPicture.Box(x0: 10, y0: 40, x1: 60, y1: 70)
        let elsewhere = DetectionPicture.Box(x0: 70, y0: 40, x1: 90, y1: 70)
        let placed = DetectionPicture.labelPlacements(boxes: [box, box, elsewhere, box], sizes: Array(repeating: (30, 9), count: 4),
                                                      imageWidth: 100, imageHeight: 80)
        XCTAssertEqual(placed.map(\.x), [10, 10, 70, 10])
        XCTAssertEqual(placed.map(\.y), [31, 40, 31, 49], "the second and fourth go below the first")
        // No room below: the label keeps its first place.
        let low = DetectionPicture.Box(x0: 0, y0: 75, x1: 10, y1: 80)
        let crowded = DetectionPicture.labelPlacements(boxes: [low, low], sizes: [(30, 9), (30, 9)], imageWidth: 100, imageHeight: 80)
        XCTAssertEqual(crowded.map(\.y), [66, 66])
        // Drawn: both labels' backgrounds show.
        let photo = uniform(100, 80, SIMD3(100, 150, 200))
        let overlay = detectionOverlay(photo, [rectangle(100, 80, x0: 10, y0: 40, x1: 60, y1: 70, name: "x"),
                                               rectangle(100, 80, x0: 10, y0: 40, x1: 60, y1: 70, name: "y")])
        XCTAssertEqual(pixel(overlay, 10, 31), DetectionPicture.palette[0])
        XCTAssertEqual(pixel(overlay, 10, 40), DetectionPicture.palette[1])
    }

    func testPointMarkers() {
        let photo = uniform(200, 200, SIMD3(100, 100, 100))
        var object = rectangle(200, 200, x0: 150, y0: 150, x1: 160, y1: 160)
        object.points = [DetectionPicture.Point(x: 40.5, y: 40.5, positive: true), DetectionPicture.Point(x: 100.5, y: 40.5, positive: false)]
        let overlay = detectionOverlay(photo, [object])
        XCTAssertEqual(pixel(overlay, 40, 40), DetectionPicture.positiveColour)
        XCTAssertEqual(pixel(overlay, 100, 40), DetectionPicture.negativeColour)
    }

    func testScoreText() {
        XCTAssertEqual(DetectionPicture.scoreText(0.87), "0.87")
        XCTAssertEqual(DetectionPicture.scoreText(0.8749), "0.87")
        XCTAssertEqual(DetectionPicture.scoreText(0.996), "1.00")
        XCTAssertEqual(DetectionPicture.scoreText(1), "1.00")
        XCTAssertEqual(DetectionPicture.scoreText(-0.25), "-0.25")
        XCTAssertEqual(DetectionPicture.scoreText(.nan), "nan")
    }

    func testPanelSize() {
        // 1800 × 1200: four 390 × 260 pictures and five 8-pixel margins make 1600 pixels.
        let tile = DetectionPicture.panelTileSize(photoWidth: 1800, photoHeight: 1200)
        XCTAssertTrue(tile == (390, 260))
        let photo = uniform(1800, 1200, SIMD3(100, 150, 200))
        let object = rectangle(1800, 1200, x0: 600, y0: 300, x1: 1200, y1: 900, name: "truck", score: 0.9)
        let attention = (0..<1800 * 1200).map { Float($0 % 1800) / 1799 }
        let panel = detectionPanel(photo, object, attention: attention)
        XCTAssertEqual(panel.width, 1600)
        let margin = DetectionPicture.panelMargin
        XCTAssertEqual(panel.height, margin + textHeight(scale: DetectionPicture.panelTitleScale) + margin + 260 + margin / 2
                       + textHeight(scale: DetectionPicture.panelCaptionScale) + margin)
        // The first picture is the photo, downscaled.
        let tilesTop = 2 * margin + textHeight(scale: DetectionPicture.panelTitleScale)
        XCTAssertEqual(pixel(panel, margin + 5, tilesTop + 5), SIMD3(100, 150, 200))
        // The mask picture: its centre is the photo under the first palette colour.
        XCTAssertEqual(pixel(panel, margin + 3 * (390 + margin) + 195, tilesTop + 130), SIMD3(69, 136, 191))
    }

    func testPanelNeverEnlargesASmallPhotoAndKeepsCaptionsApart() {
        let photo = uniform(40, 30, SIMD3(10, 20, 30))
        let tile = DetectionPicture.panelTileSize(photoWidth: 40, photoHeight: 30)
        XCTAssertTrue(tile == (40, 30))
        let panel = detectionPanel(photo, rectangle(40, 30, x0: 10, y0: 10, x1: 20, y1: 20), attention: [])
        let slot = textWidth("attention", scale: DetectionPicture.panelCaptionScale)
        XCTAssertEqual(panel.width, 5 * DetectionPicture.panelMargin + 4 * slot)
        XCTAssertLessThanOrEqual(detectionPanel(uniform(5000, 100, SIMD3(0, 0, 0)),
                                                rectangle(5000, 100, x0: 0, y0: 0, x1: 1, y1: 1), attention: []).width, 1600)
    }

    func testAreaAverageDownscale() {
        // 4 × 2 → 2 × 1: each output is the mean of a 2 × 2 block.
        let image = RGBImage(width: 4, height: 2, pixels: [
            0, 0, 0, 10, 20, 30, 100, 100, 100, 200, 200, 200,
            20, 40, 60, 30, 60, 90, 100, 100, 100, 0, 0, 0,
        ])
        XCTAssertEqual(downscaleAreaAverage(image, width: 2, height: 1).pixels, [15, 30, 45, 100, 100, 100])
        // 3 → 2 columns: each output covers 1.5 sources, the middle one split in halves.
        let row = RGBImage(width: 3, height: 1, pixels: [0, 0, 0, 90, 90, 90, 180, 180, 180])
        XCTAssertEqual(downscaleAreaAverage(row, width: 2, height: 1).pixels, [30, 30, 30, 150, 150, 150])
    }

    func testDownscaleToAWidth() {
        let image = uniform(960, 641, SIMD3(1, 2, 3))
        let small = downscale(image, maxWidth: 480)
        XCTAssertEqual(small.width, 480)
        XCTAssertEqual(small.height, 321)   // 641 × 480 / 960 = 320.5, rounded half away from zero
        XCTAssertEqual(small.pixels.count, 480 * 321 * 3)
        XCTAssertTrue(small.pixels.elementsEqual((0..<480 * 321).flatMap { _ in [1, 2, 3] as [UInt8] }))
        XCTAssertEqual(downscale(image, maxWidth: 2000), image, "a narrow image is left as it is")
    }
}

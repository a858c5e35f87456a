import BatchDriver
import Foundation
import Geometry
import Imaging
import TestSupport
import VLSAMMethod
import XCTest

final class ReportPageTests: XCTestCase {
    /// A photo of `width` × `height` with a gradient, and two rectangular detections on it.
    func scene(width: Int, height: Int, names: [String]) -> (RGBImage, [Detection]) {
        let photo = RGBImage(width: width, height: height, pixels: (0..<width * height).flatMap { i -> [UInt8] in
            let x = i % width, y = i / width
            return [UInt8(x * 255 / width), UInt8(y * 255 / height), 128]
        })
        let detections = names.enumerated().map { k, name -> Detection in
            let x0 = width / 8 + k * width / 3, y0 = height / 4, x1 = x0 + width / 4, y1 = y0 + height / 2
            var mask = [UInt8](repeating: 0, count: width * height)
            for y in y0..<y1 { for x in x0..<x1 { mask[y * width + x] = 1 } }
            return Detection(name: name, score: 0.9 - Float(k) / 10, mask: mask,
                             box: PixelBox(x0: Float(x0), y0: Float(y0), x1: Float(x1), y1: Float(y1)), iteration: k,
                             points: [PixelPoint(x: Float(x0 + 5), y: Float(y0 + 5)), PixelPoint(x: 2, y: 2)], labels: [1, 0])
        }
        return (photo, detections)
    }

    /// Every value of a src or href attribute in `html`, as written (before percent-decoding).
    func references(in html: String) throws -> [String] {
        let pattern = try NSRegularExpression(pattern: #"\b(?:src|href)\s*=\s*"([^"]*)""#, options: [.caseInsensitive])
        return pattern.matches(in: html, range: NSRange(html.startIndex..., in: html)).map {
            String(html[Range($0.range(at: 1), in: html)!])
        }
    }

    func unescapeHTML(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// Draws one photo's overlay and panels the way the driver lays them out
    /// (photos/<stem>/overlay.png, photos/<stem>/panels/<i>_<name>.png) and returns its row.
    func finishedPhoto(_ name: String, stem: String, width: Int, height: Int, names: [String], in root: String) throws -> ReportPage.Photo {
        let (photo, detections) = scene(width: width, height: height, names: names)
        let folder = "\(root)/photos/\(stem)"
        try FileManager.default.createDirectory(atPath: folder + "/panels", withIntermediateDirectories: true)
        try writePNG(detectionOverlay(photo, detections.map(\.picture)), to: folder + "/overlay.png")
        var rows: [ReportPage.DetectionRow] = []
        for (i, detection) in detections.enumerated() {
            let panel = "\(folder)/panels/\(i)_\(detection.name).png"
            try writePNG(detectionPanel(photo, detection.picture, attention: detection.mask.map { Float($0) * 0.8 }, colourIndex: i),
                         to: panel)
            rows.append(ReportPage.DetectionRow(name: detection.name, score: detection.score, box: detection.box,
                                                iteration: detection.iteration, panelPath: panel))
        }
        rows.append(ReportPage.DetectionRow(name: "lost", score: 0.1, box: PixelBox(x0: 0, y0: 0, x1: 1, y1: 1), iteration: 0,
                                            panelPath: folder + "/panels/never-written.png"))
        return try ReportPage.photo(name: name, pageFolder: root, overlay: folder + "/overlay.png",
                                    thumbnail: folder + "/thumbnail.png", detections: rows)
    }

    func testPageReferencesOnlyFilesThatExist() throws {
        let root = scratchDirectory()
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let done = try finishedPhoto("street photo.jpg", stem: "street photo", width: 960, height: 640,
                                     names: ["traffic light", "dog <cat> #1?&"], in: root)
        let nothing = try finishedPhoto("empty.png", stem: "empty", width: 300, height: 200, names: [], in: root)
        let failed = ReportPage.Photo.failed("broken.jpg", error: "broken.jpg: not a JPEG or PNG file")
        let page = root + "/report.html"
        try ReportPage.write(photos: [done, nothing, failed], elapsedSeconds: 12.34, to: page)

        let html = try String(contentsOfFile: page, encoding: .utf8)
        let found = try references(in: html)
        // Each finished photo's overlay and thumbnail, and one panel a drawn detection (the row
        // whose panel was never written has no link).
        XCTAssertEqual(found.count, 2 + 2 + 2, "references: \(found)")
        for reference in found {
            let path = try XCTUnwrap(unescapeHTML(reference).removingPercentEncoding, "not percent-encoded: \(reference)")
            XCTAssertFalse(path.hasPrefix("/") || path.contains("://"), "\(reference) is not relative")
            XCTAssertFalse(path.split(separator: "/").contains(".."), "\(reference) leaves the folder")
            XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/" + path), "\(reference) → \(path) does not exist")
        }
        XCTAssertFalse(found.contains { $0.contains(" ") || $0.contains("#") || $0.contains("?") }, "unencoded characters in \(found)")
        XCTAssertEqual(done.overlayPath, "photos/street photo/overlay.png")
        XCTAssertEqual(done.detections.map(\.panelPath), ["photos/street photo/panels/0_traffic light.png",
                                                          "photos/street photo/panels/1_dog <cat> #1?&.png", nil])

        // The thumbnail is at most 480 wide, the overlay full size.
        let thumbnail = try decodeImage(atPath: root + "/" + XCTUnwrap(done.thumbnailPath))
        XCTAssertTrue(thumbnail.width == 480 && thumbnail.height == 320)
        let overlay = try decodeImage(atPath: root + "/" + XCTUnwrap(done.overlayPath))
        XCTAssertTrue(overlay.width == 960 && overlay.height == 640)

        XCTAssertTrue(html.contains("3 photos: 2 done, 1 failed; 4 detections; 12.3 s."), html)
        XCTAssertTrue(html.contains("broken.jpg: not a JPEG or PNG file"))
        XCTAssertFalse(html.lowercased().contains("<script"), "the page has no script")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "the temporary page must be renamed away")
    }

    func testRelativePaths() {
        XCTAssertEqual(ReportPage.relativePath("/out/photos/a/overlay.png", from: "/out"), "photos/a/overlay.png")
        XCTAssertEqual(ReportPage.relativePath("/out/photos/a/overlay.png", from: "/out/"), "photos/a/overlay.png")
        XCTAssertEqual(ReportPage.relativePath("/out/./photos//b.png", from: "/out/x/.."), "photos/b.png")
        XCTAssertEqual(ReportPage.relativePath("/elsewhere/b.png", from: "/out/sub"), "../../elsewhere/b.png")
        XCTAssertEqual(ReportPage.relativePath("/out", from: "/out"), ".")
    }

    func testNamesAndErrorsAreEscaped() {
        let row = ReportPage.DetectionRow(name: "<script>alert('x')</script>", score: 0.5,
                                          box: PixelBox(x0: 1, y0: 2, x1: 30.25, y1: 40), iteration: 1, panelPath: "panels/a&b.png")
        let photos = [
            ReportPage.Photo(name: "a<b>&\"c\".jpg", overlayPath: "o.png", thumbnailPath: "t.png", detections: [row]),
            ReportPage.Photo.failed("<img src=x onerror=alert(1)>", error: "bad <b>file</b> & more"),
        ]
        let html = ReportPage.html(photos: photos, elapsedSeconds: 75, title: "<title>")
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("<img src=x"))
        XCTAssertFalse(html.contains("<b>"))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        XCTAssertTrue(html.contains("a&lt;b&gt;&amp;&quot;c&quot;.jpg"))
        XCTAssertTrue(html.contains("bad &lt;b&gt;file&lt;/b&gt; &amp; more"))
        XCTAssertTrue(html.contains("<title>&lt;title&gt;</title>"))
        XCTAssertTrue(html.contains("href=\"panels/a%26b.png\""))
        XCTAssertTrue(html.contains("1, 2, 30.2, 40") || html.contains("1, 2, 30.3, 40"), "the box")
        XCTAssertTrue(html.contains("1 min 15 s"))
        XCTAssertTrue(html.contains("background: #1f77b4"), "the first row's swatch is the overlay's first colour")
    }

    func testEscapeAndAttribute() {
        XCTAssertEqual(ReportPage.escape(#"<a href="x">Tom & Jerry's</a>"#),
                       "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;")
        XCTAssertEqual(ReportPage.attribute("panels/my photo/0-a#b?.png"), "panels/my%20photo/0-a%23b%3F.png")
        XCTAssertEqual(ReportPage.attribute("é.png"), "%C3%A9.png")
    }

    func testWriteReplacesAnExistingPage() throws {
        let directory = scratchDirectory()
        let page = directory + "/report.html"
        try "old".write(toFile: page, atomically: false, encoding: .utf8)
        try ReportPage.write(photos: [], elapsedSeconds: 0, to: page)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("0 photos: 0 done, 0 failed; 0 detections; 0.0 s."))
        XCTAssertThrowsError(try ReportPage.write(photos: [], elapsedSeconds: 0, to: directory + "/missing/report.html"))
    }
}

import Foundation
import Geometry
import Imaging
import Pipeline
import VLSAMMethod

/// report.html: one static page (no script, no server) over a batch's results, under a summary
/// (photos done and failed, detections, time). A row a photo: its name, a thumbnail of its
/// overlay linking to the full overlay, and a table of its detections (overlay colour, name,
/// score, box, iteration) with a link to each object's panel; a failed photo shows its error.
/// Row k's colour is `DetectionPicture.colour(k)`, the overlay's when the rows come in the order
/// the overlay drew them. Every picture is referenced by a path relative to the page, so the
/// output folder can be moved as a whole.
public enum ReportPage {
    /// One detection's row.
    public struct DetectionRow: Sendable, Equatable {
        public var name: String
        public var score: Float
        public var box: PixelBox
        public var iteration: Int
        /// The object's panel, relative to the page; nil for none.
        public var panelPath: String?

        public init(name: String, score: Float, box: PixelBox, iteration: Int, panelPath: String? = nil) {
            self.name = name
            self.score = score
            self.box = box
            self.iteration = iteration
            self.panelPath = panelPath
        }
    }

    /// One photo's row. Paths are relative to the page.
    public struct Photo: Sendable, Equatable {
        public var name: String
        public var overlayPath: String?
        public var thumbnailPath: String?
        public var detections: [DetectionRow]
        /// Set when the photo failed; its row then shows this message.
        public var error: String?

        public init(name: String, overlayPath: String? = nil, thumbnailPath: String? = nil,
                    detections: [DetectionRow] = [], error: String? = nil) {
            self.name = name
            self.overlayPath = overlayPath
            self.thumbnailPath = thumbnailPath
            self.detections = detections
            self.error = error
        }

        /// A failed photo's row.
        public static func failed(_ name: String, error: String) -> Photo {
            Photo(name: name, error: error)
        }
    }

    public static let defaultThumbnailWidth = 480

    // MARK: Rows

    /// A finished photo's row, with its thumbnail written: reads the overlay PNG at `overlay`,
    /// writes it at most `thumbnailWidth` wide to `thumbnail`, and returns the row with every path
    /// (overlay, thumbnail, the rows' `panelPath`s — given here as file paths like the others)
    /// made relative to `pageFolder`, the folder report.html goes in. A panel that does not exist
    /// loses its link rather than leave the page pointing at nothing.
    public static func photo(name: String, pageFolder: String, overlay: String, thumbnail: String,
                             detections: [DetectionRow], thumbnailWidth: Int = defaultThumbnailWidth) throws -> Photo {
        try writeThumbnail(decodeImage(atPath: overlay), to: thumbnail, maxWidth: thumbnailWidth)
        let rows = detections.map { row in
            var row = row
            row.panelPath = row.panelPath.flatMap {
                FileManager.default.fileExists(atPath: $0) ? relativePath($0, from: pageFolder) : nil
            }
            return row
        }
        return Photo(name: name, overlayPath: relativePath(overlay, from: pageFolder),
                     thumbnailPath: relativePath(thumbnail, from: pageFolder), detections: rows)
    }

    /// Writes `image` scaled to at most `maxWidth` pixels wide (area average) as a PNG, atomically.
    public static func writeThumbnail(_ image: RGBImage, to path: String, maxWidth: Int = defaultThumbnailWidth) throws {
        try writePNG(downscale(image, maxWidth: maxWidth), to: path)
    }

    /// `path` relative to `folder` ("photos/a/overlay.png", or with ".." steps when it lies
    /// elsewhere); both are taken from the current directory when relative.
    public static func relativePath(_ path: String, from folder: String) -> String {
        let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        let base = URL(fileURLWithPath: folder, isDirectory: true).standardizedFileURL.pathComponents
        var common = 0
        while common < min(target.count, base.count) && target[common] == base[common] { common += 1 }
        let steps = Array(repeating: "..", count: base.count - common) + target[common...]
        return steps.isEmpty ? "." : steps.joined(separator: "/")
    }

    // MARK: The page

    /// The page. `elapsedSeconds` is the batch's wall time for the summary; `evaluation` is
    /// `--eval`'s text (COCO summary and per-category table), shown as it prints.
    public static func html(photos: [Photo], elapsedSeconds: Double, evaluation: String? = nil, title: String = "vlsam report") -> String {
        let failed = photos.filter { $0.error != nil }.count
        let detections = photos.reduce(0) { $0 + $1.detections.count }
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(escape(title))</title>
            <style>
            body { font-family: sans-serif; margin: 1.5em; color: #222; }
            table.photos { border-collapse: collapse; width: 100%; }
            table.photos > tbody > tr > td { border-top: 1px solid #ccc; padding: 0.6em; vertical-align: top; }
            td.name { font-weight: bold; word-break: break-all; }
            img { max-width: 480px; border: 1px solid #999; }
            table.detections { border-collapse: collapse; }
            table.detections th, table.detections td { padding: 0.15em 0.6em; text-align: left; }
            table.detections td.number { text-align: right; font-variant-numeric: tabular-nums; }
            .error { color: #b00020; white-space: pre-wrap; }
            .none { color: #777; }
            .swatch { display: inline-block; width: 0.9em; height: 0.9em; border: 1px solid #555; vertical-align: middle; }
            </style>
            </head>
            <body>
            <h1>\(escape(title))</h1>
            <p class="summary">\(photos.count) \(plural(photos.count, "photo")): \(photos.count - failed) done, \(failed) failed; \
            \(detections) \(plural(detections, "detection")); \(duration(elapsedSeconds)).</p>
            \(evaluation.map { "<h2>COCO evaluation</h2>\n<pre class=\"evaluation\">\(escape($0))</pre>" } ?? "")
            <table class="photos">
            <tbody>

            """
        for photo in photos {
            page += "<tr>\n<td class=\"name\">\(escape(photo.name))</td>\n"
            if let error = photo.error {
                page += "<td colspan=\"2\" class=\"error\">\(escape(error))</td>\n</tr>\n"
                continue
            }
            page += "<td>"
            let image = photo.thumbnailPath.map { "<img src=\"\(attribute($0))\" alt=\"\(escape(photo.name)) overlay\">" }
            switch (image, photo.overlayPath) {
            case let (image?, overlay?): page += "<a href=\"\(attribute(overlay))\">\(image)</a>"
            case let (image?, nil): page += image
            case let (nil, overlay?): page += "<a href=\"\(attribute(overlay))\">overlay</a>"
            case (nil, nil): break
            }
            page += "</td>\n<td>"
            if photo.detections.isEmpty {
                page += "<span class=\"none\">no detections</span>"
            } else {
                page += "<table class=\"detections\">\n<tr><th></th><th>name</th><th>score</th><th>box (x0, y0, x1, y1)</th><th>iteration</th><th></th></tr>\n"
                for (k, row) in photo.detections.enumerated() {
                    let box = [row.box.x0, row.box.y0, row.box.x1, row.box.y1].map(number).joined(separator: ", ")
                    let panel = row.panelPath.map { "<a href=\"\(attribute($0))\">panel</a>" } ?? ""
                    let colour = DetectionPicture.colour(k)
                    let swatch = "<span class=\"swatch\" style=\"background: #" + [colour.x, colour.y, colour.z]
                        .map { String($0, radix: 16).leftPadded(to: 2) }.joined() + "\"></span>"
                    page += "<tr><td>\(swatch)</td><td>\(escape(row.name))</td><td class=\"number\">\(DetectionPicture.scoreText(row.score))</td>"
                        + "<td class=\"number\">\(box)</td><td class=\"number\">\(row.iteration)</td><td>\(panel)</td></tr>\n"
                }
                page += "</table>"
            }
            page += "</td>\n</tr>\n"
        }
        page += "</tbody>\n</table>\n</body>\n</html>\n"
        return page
    }

    /// Writes the page to `path` atomically, so a reader never sees half a page.
    public static func write(photos: [Photo], elapsedSeconds: Double, evaluation: String? = nil, title: String = "vlsam report",
                             to path: String) throws {
        try Data(html(photos: photos, elapsedSeconds: elapsedSeconds, evaluation: evaluation, title: title).utf8).withUnsafeBytes {
            try writeFileAtomically($0, toPath: path)
        }
    }

    /// `text` safe inside HTML text and quoted attributes: & < > " ' as character references.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A relative path as a URL path: each byte outside ASCII letters, digits, "-._~/" is
    /// percent-encoded (so '#', '?', '%' and spaces stay part of the file name), then HTML-escaped.
    public static func attribute(_ path: String) -> String {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/".utf8)
        var encoded = ""
        for byte in path.utf8 {
            if unreserved.contains(byte) {
                encoded.append(Character(Unicode.Scalar(byte)))
            } else {
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return escape(encoded)
    }

    // MARK: Helpers

    static func plural(_ count: Int, _ noun: String) -> String { count == 1 ? noun : noun + "s" }

    /// A coordinate: an integer when it is one, otherwise one decimal.
    static func number(_ value: Float) -> String {
        guard value.isFinite else { return "\(value)" }
        return value == value.rounded() && abs(value) < 1e9 ? "\(Int(value))" : String(format: "%.1f", value)
    }

    /// "12.3 s" below a minute, "4 min 05 s" below an hour, "2 h 03 min" above.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "time unknown" }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return String(format: "%d min %02d s", whole / 60, whole % 60) }
        return String(format: "%d h %02d min", whole / 3600, (whole % 3600) / 60)
    }
}

extension Detection {
    /// The pictures' view of the detection: label-1 points positive, any other label negative.
    public var picture: DetectionPicture {
        DetectionPicture(name: name, score: score, mask: mask, box: DetectionPicture.Box(x0: box.x0, y0: box.y0, x1: box.x1, y1: box.y1),
                         iteration: iteration,
                         points: zip(points, labels).map { DetectionPicture.Point(x: $0.x, y: $0.y, positive: $1 == 1) })
    }
}

private extension String {
    func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}

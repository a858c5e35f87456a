import Artifacts
import Foundation
import Geometry
import Imaging
import TestSupport
import XCTest

/// `vlsam-run --multiscale` on the parity bundles' random-weight models: the four quadrant crops
/// (their rectangles, pixels and records), the per-scale artifacts, crop detections pasted into
/// the photo, and resume. One run of two photos is shared by the tests: the 1800 × 1200 sample
/// truck and a 5 × 7 photo (H × W = 7 × 5), whose odd sides make the rounding visible.
final class MultiscaleCLITests: XCTestCase {
    struct Run {
        var photos: String
        var out: String
        var arguments: [String]
        var result: ToolRun
    }

    nonisolated(unsafe) static var shared: Result<Run, Error>?

    /// Runs the batch once (both photos) and hands every test the same outputs.
    func outputs() throws -> Run {
        if let shared = Self.shared { return try shared.get() }
        let result = Result { try makeRun() }
        Self.shared = result
        return try result.get()
    }

    func makeRun() throws -> Run {
        guard let vlm = sharedPath("parity/smolvlm-tiny"), let sam = sharedPath("parity/efficientsam-vitt/weights.pt") else {
            throw XCTSkip(missingShared("parity"))
        }
        guard let truck = sharedPath("data/samples/truck.jpg") else { throw XCTSkip(missingShared("data/samples")) }
        let dir = scratchDirectory("multiscale"), photos = dir + "/photos", out = dir + "/out"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: truck, toPath: photos + "/truck.jpg")
        // A 5-wide, 7-high photo with a different colour at every pixel.
        var tiny: [UInt8] = []
        for y in 0..<7 {
            for x in 0..<5 { tiny += [UInt8(40 * x), UInt8(30 * y), UInt8(7 * (x + y))] }
        }
        try writePNG(RGBImage(width: 5, height: 7, pixels: tiny), to: photos + "/tiny.png")
        let arguments = ["--vlm", vlm, "--sam", sam, "--multiscale", "--no-split", "--iterations", "0",
                         "--objects", "truck, dog", "--images", photos, "--out", out]
        return Run(photos: photos, out: out, arguments: arguments, result: try runStage("vlsam-run", arguments))
    }

    /// The crops the method page's reading gives (see `Multiscale`): ceil(0.55 · side), anchored at
    /// the corners — written out here, not computed by the code under test.
    static let expectedCrops: [String: (height: Int, width: Int, crops: [Crop])] = [
        // 1200 × 1800: 660 × 990 crops; the neighbours share 120 rows and 180 columns (10%).
        "truck": (1200, 1800, [Crop(0, 0, 990, 660), Crop(810, 0, 990, 660), Crop(0, 540, 990, 660), Crop(810, 540, 990, 660)]),
        // 7 × 5: ceil(3.85) = 4 rows, ceil(2.75) = 3 columns; they share row 3 and column 2.
        "tiny": (7, 5, [Crop(0, 0, 3, 4), Crop(2, 0, 3, 4), Crop(0, 3, 3, 4), Crop(2, 3, 3, 4)]),
    ]

    struct Crop: CustomStringConvertible {
        var x0: Int, y0: Int, width: Int, height: Int
        init(_ x0: Int, _ y0: Int, _ width: Int, _ height: Int) {
            (self.x0, self.y0, self.width, self.height) = (x0, y0, width, height)
        }
        var x1: Int { x0 + width }
        var y1: Int { y0 + height }
        var parameters: [String: Int] { ["x0": x0, "y0": y0, "width": width, "height": height] }
        func holdsPixel(_ x: Int, _ y: Int) -> Bool { x >= x0 && x < x1 && y >= y0 && y < y1 }
        /// A point or box edge in pixel coordinates: the crop's closed rectangle.
        func holds(_ x: Float, _ y: Float) -> Bool { x >= Float(x0) && x <= Float(x1) && y >= Float(y0) && y <= Float(y1) }
        var description: String { "(\(x0), \(y0)) \(width)x\(height)" }
    }

    func testCropRectanglesOf1200x1800And7x5() throws {
        let run = try outputs()
        XCTAssertEqual(run.result.status, 0, run.result.stderr)
        for (stem, expected) in Self.expectedCrops.sorted(by: { $0.key < $1.key }) {
            let folder = "\(run.out)/photos/\(stem)"
            let photo = try decodeImage(atPath: "\(run.photos)/\(stem).\(stem == "truck" ? "jpg" : "png")")
            XCTAssertEqual([photo.height, photo.width], [expected.height, expected.width])
            for (i, crop) in expected.crops.enumerated() {
                let s = i + 1
                // The record: the rectangle is the step's parameters.
                let record = try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/crop.s\(s).json"))) as! [String: Any]
                let parameters = try JSONSerialization.jsonObject(with: Data((record["parameters"] as! String).utf8)) as! [String: Int]
                XCTAssertEqual(parameters, crop.parameters, "\(stem) s\(s)")
                // The PNG: exactly those pixels of the photo.
                let image = try decodeImage(atPath: "\(folder)/crop.s\(s).png")
                XCTAssertEqual([image.width, image.height], [crop.width, crop.height], "\(stem) s\(s)")
                var same = image.width == crop.width && image.height == crop.height
                for y in 0..<min(image.height, crop.height) where same {
                    let row = (crop.y0 + y) * photo.width + crop.x0
                    same = image.pixels[y * image.width * 3 ..< (y + 1) * image.width * 3].elementsEqual(
                        photo.pixels[row * 3 ..< (row + crop.width) * 3])
                }
                XCTAssertTrue(same, "\(stem) crop s\(s) is not the photo's rectangle")
                // The crop was segmented as a photo of its own.
                let masks = try MasksArtifact.read(from: "\(folder)/masks.s\(s).0.h5")
                XCTAssertEqual(masks.originalSize, ImageSize(height: crop.height, width: crop.width), "\(stem) s\(s)")
            }
        }
    }

    func testMultiscaleRunPastesCropDetectionsAndResumes() throws {
        let run = try outputs()
        XCTAssertEqual(run.result.status, 0, run.result.stderr)
        let folder = run.out + "/photos/truck"
        var files = ["objects.h5", "attention.h5", "prompts.0.h5", "masks.0.h5", "embedding.h5", "detections.h5", "overlay.png"]
        for s in 1...4 {
            files += ["crop.s\(s).png", "crop.s\(s).json", "objects.s\(s).h5", "attention.s\(s).h5", "prompts.s\(s).0.h5",
                      "masks.s\(s).0.h5", "embedding.s\(s).h5"]
        }
        for file in files { XCTAssertTrue(FileManager.default.fileExists(atPath: "\(folder)/\(file)"), file) }

        for (stem, expected) in Self.expectedCrops {
            let artifact = try DetectionsArtifact.read(from: "\(run.out)/photos/\(stem)/detections.h5")
            let (height, width) = (expected.height, expected.width)
            XCTAssertEqual(artifact.originalSize, ImageSize(height: height, width: width))
            XCTAssertEqual(Set(artifact.inputs.keys), Set((0...4).map { $0 == 0 ? "masks.0.h5" : "masks.s\($0).0.h5" }), stem)
            if stem == "truck" { XCTAssertTrue(artifact.detections.contains { $0.scale > 0 }, "no crop detection survived merging") }
            for (i, detection) in artifact.detections.enumerated() {
                let mask = try XCTUnwrap(decodeCOCORLE(detection.rle, height: height, width: width), "\(stem) detection \(i)")
                XCTAssertEqual(mask.count, height * width, "\(stem) detection \(i): the mask is not photo-sized")
                XCTAssertTrue(mask.contains(1), "\(stem) detection \(i): empty mask")
                guard detection.scale > 0 else { continue }
                let crop = expected.crops[detection.scale - 1]
                var outside = 0
                for y in 0..<height {
                    for x in 0..<width where mask[y * width + x] != 0 && !crop.holdsPixel(x, y) { outside += 1 }
                }
                XCTAssertEqual(outside, 0, "\(stem) detection \(i) of scale \(detection.scale) reaches outside its crop \(crop)")
                let box = detection.box
                XCTAssertTrue(crop.holds(box.x0, box.y0) && crop.holds(box.x1, box.y1), "\(stem) detection \(i): box \(box) outside crop \(crop)")
                for point in detection.points {
                    XCTAssertTrue(crop.holds(point.x, point.y), "\(stem) detection \(i): point \(point) outside crop \(crop)")
                }
            }
        }

        // Nothing changed: the dry run plans nothing, and a rerun reuses every step, crops included.
        let plan = try runStageOutput("vlsam-run", run.arguments + ["--dry-run"])
        XCTAssertTrue(plan.contains("truck.jpg: up to date (30 steps reused)") && plan.contains("tiny.png: up to date (30 steps reused)"), plan)
        let logged = try String(contentsOfFile: run.out + "/run.jsonl", encoding: .utf8).split(separator: "\n").count
        let again = try runStage("vlsam-run", run.arguments)
        XCTAssertEqual(again.status, 0, again.stderr)
        let records = try String(contentsOfFile: run.out + "/run.jsonl", encoding: .utf8).split(separator: "\n").dropFirst(logged)
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["stage"] as? String != "photo" }
        XCTAssertEqual(records.count, 60)
        XCTAssertEqual(Set(records.compactMap { $0["status"] as? String }), ["reused"])

        // A crop that no longer matches its record is cut again, and what was made from it reruns.
        let crop = folder + "/crop.s3.png", original = try Data(contentsOf: URL(fileURLWithPath: crop))
        try Data("not the crop".utf8).write(to: URL(fileURLWithPath: crop))
        defer { try? original.write(to: URL(fileURLWithPath: crop)) }  // the outputs are shared
        let changed = try runStageOutput("vlsam-run", run.arguments + ["--dry-run"])
        let steps = changed.split(separator: "\n").filter { $0.hasPrefix("  run ") }.map { String($0.split(separator: " ")[2]) }
        XCTAssertEqual(steps, ["crop.s3.png", "objects.s3.h5", "embedding.s3.h5", "attention.s3.h5", "prompts.s3.0.h5",
                               "masks.s3.0.h5", "detections.h5"], changed)
        XCTAssertTrue(changed.contains("not the PNG its record describes"), changed)
    }
}

/// pycocotools' compressed RLE string → row-major 0/1 mask (runs are column-major, zeros first),
/// written out independently of COCOFormat; nil when the runs do not fill the mask.
func decodeCOCORLE(_ string: String, height: Int, width: Int) -> [UInt8]? {
    var counts: [Int] = []
    let bytes = Array(string.utf8)
    var p = 0
    while p < bytes.count {
        var x = 0, k = 0, more = true
        while more {
            guard p < bytes.count else { return nil }
            let c = Int(bytes[p]) - 48
            x |= (c & 0x1f) << (5 * k)
            more = c & 0x20 != 0
            p += 1
            k += 1
            if !more && c & 0x10 != 0 { x |= -1 << (5 * k) }
        }
        if counts.count > 2 { x += counts[counts.count - 2] }
        counts.append(x)
    }
    guard counts.allSatisfy({ $0 >= 0 }), counts.reduce(0, +) == height * width else { return nil }
    var mask = [UInt8](repeating: 0, count: height * width)
    var i = 0
    for (r, count) in counts.enumerated() {
        if r % 2 == 1 {
            for j in i ..< i + count { mask[(j % height) * width + j / height] = 1 }
        }
        i += count
    }
    return mask
}

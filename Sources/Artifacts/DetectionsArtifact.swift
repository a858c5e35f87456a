import Foundation
import Geometry

/// The objects found in one photo after merging: per detection its name, score, box, mask (as a
/// COCO compressed RLE string) and where it came from (question prompt, scale, refinement iteration
/// and that iteration's point prompts). Schema "vlsam.detections" (see docs/artifacts.md).
///
/// Masks are kept as pycocotools' compressed strings (column-major runs; the `COCOFormat` target
/// encodes and decodes them), which is what COCO results files hold; this type stores and checks
/// the strings but does not decode them.
public struct DetectionsArtifact: Sendable, Equatable {
    public static let schema = ArtifactSchema.detections
    /// 0 the whole photo, 1…4 its quadrant crops.
    public static let scales = 0...4

    public struct Detection: Sendable, Equatable {
        public var name: String
        public var score: Float
        /// (x0, y0, x1, y1) pixel edges in the original photo.
        public var box: PixelBox
        /// The mask as pycocotools' compressed RLE string of a mask of the artifact's `originalSize`.
        public var rle: String
        /// Which question prompt of a question ensemble produced it (0 without an ensemble).
        public var question: Int
        /// 0 the whole photo, 1…4 the quadrant crops.
        public var scale: Int
        /// The refinement iteration the mask came from (0: points from attention alone).
        public var iteration: Int
        /// That iteration's point prompts and their labels (1 foreground, 0 background).
        public var points: [PixelPoint]
        public var labels: [Int32]

        public init(name: String, score: Float, box: PixelBox, rle: String, question: Int = 0, scale: Int = 0,
                    iteration: Int = 0, points: [PixelPoint] = [], labels: [Int32] = []) {
            self.name = name
            self.score = score
            self.box = box
            self.rle = rle
            self.question = question
            self.scale = scale
            self.iteration = iteration
            self.points = points
            self.labels = labels
        }

        /// Describes what is wrong, or nil when the detection is valid.
        public func problem() -> String? {
            guard score.isFinite else { return "score \(score) is not finite" }
            guard [box.x0, box.y0, box.x1, box.y1].allSatisfy(\.isFinite), box.x0 <= box.x1, box.y0 <= box.y1 else {
                return "box (\(box.x0), \(box.y0), \(box.x1), \(box.y1)) is not finite with x0 <= x1 and y0 <= y1"
            }
            if let problem = Self.rleProblem(rle) { return "mask_rle \(problem)" }
            let limit = Int(Int32.max)
            guard (0...limit).contains(question) else { return "question \(question) is outside 0…\(limit)" }
            guard DetectionsArtifact.scales.contains(scale) else { return "scale \(scale) is not 0 (whole photo) or 1…4 (a quadrant)" }
            guard (0...limit).contains(iteration) else { return "iteration \(iteration) is outside 0…\(limit)" }
            guard points.count == labels.count else { return "has \(points.count) points but \(labels.count) labels" }
            if let index = points.firstIndex(where: { !$0.x.isFinite || !$0.y.isFinite }) {
                return "point \(index) has a non-finite coordinate (\(points[index].x), \(points[index].y))"
            }
            if let index = labels.firstIndex(where: { $0 != 0 && $0 != 1 }) {
                return "point \(index) has label \(labels[index]) (expected 1 foreground or 0 background)"
            }
            return nil
        }

        /// The shape of a compressed RLE string, without decoding it: characters '0'…'o' (ASCII 48–111)
        /// and a last character that ends its number (no continuation bit 32).
        static func rleProblem(_ rle: String) -> String? {
            let bytes = rle.utf8
            guard let last = bytes.last else { return "is empty (a COCO RLE string has at least one run)" }
            if let offset = bytes.firstIndex(where: { $0 < 48 || $0 > 111 }) {
                return "has a character outside '0'…'o' at offset \(bytes.distance(from: bytes.startIndex, to: offset)); not a COCO compressed RLE string"
            }
            guard (last - 48) & 0x20 == 0 else { return "ends inside a number; not a complete COCO compressed RLE string" }
            return nil
        }
    }

    public var provenance: Provenance
    /// Size of the photo, and of every mask.
    public var originalSize: ImageSize
    public var detections: [Detection]
    /// The artifacts the detections were assembled from: file name → SHA-256 (64 hex digits).
    public var inputs: [String: String]

    public init(provenance: Provenance, originalSize: ImageSize, detections: [Detection], inputs: [String: String] = [:]) {
        self.provenance = provenance
        self.originalSize = originalSize
        self.detections = detections
        self.inputs = inputs
    }

    /// Writes atomically: `path` appears complete or not at all.
    public func write(to path: String) throws {
        try validate(path)
        let count = detections.count
        var coordinates = [Float](), labels = [Int32](), offsets: [Int32] = [0], boxes = [Float]()
        for detection in detections {
            for point in detection.points { coordinates += [point.x, point.y] }
            labels += detection.labels
            offsets.append(Int32(labels.count))
            boxes += [detection.box.x0, detection.box.y0, detection.box.x1, detection.box.y1]
        }
        let inputFiles = inputs.keys.sorted()
        let file = try HDF5File(creatingAt: path)
        try provenance.write(to: file, schema: Self.schema)
        try file.setSize("original_size", originalSize)
        try file.write(detections.map(\.name), to: "names")
        try file.describe("names", "object name of each detection")
        try file.write(detections.map(\.score), shape: [count], to: "scores")
        try file.describe("scores", "score of each detection (the decoder's predicted IoU of its mask)")
        try file.write(boxes, shape: [count, 4], to: "boxes")
        try file.describe("boxes", "box (x0, y0, x1, y1) of each mask, pixel edges in the original image")
        try file.write(detections.map(\.rle), to: "mask_rle")
        try file.describe("mask_rle", "mask of each detection as a COCO compressed RLE string (pycocotools, column-major) of size original_size")
        try file.write(detections.map { Int32($0.question) }, shape: [count], to: "question")
        try file.describe("question", "index of the question prompt (question ensemble) that produced the detection, 0 without one")
        try file.write(detections.map { Int32($0.scale) }, shape: [count], to: "scale")
        try file.describe("scale", "0 the whole photo, 1..4 the quadrant crop the detection came from")
        try file.write(detections.map { Int32($0.iteration) }, shape: [count], to: "iteration")
        try file.describe("iteration", "refinement iteration the mask came from (0: points from attention alone)")
        try file.write(offsets, shape: [count + 1], to: "point_offsets")
        try file.describe("point_offsets", "points of detection d are rows point_offsets[d] ..< point_offsets[d+1]")
        try file.write(coordinates, shape: [labels.count, 2], to: "points")
        try file.describe("points", "point prompts (x, y) of each detection's iteration, original-image pixels, all detections concatenated")
        try file.write(labels, shape: [labels.count], to: "point_labels")
        try file.describe("point_labels", "label of each point: 1 foreground, 0 background")
        try file.write(inputFiles, to: "input_files")
        try file.describe("input_files", "artifacts the detections were assembled from (file names, sorted)")
        try file.write(inputFiles.map { inputs[$0]! }, to: "input_sha256")
        try file.describe("input_sha256", "SHA-256 of each input file")
        try file.commit()
    }

    public static func read(from path: String) throws -> DetectionsArtifact {
        let file = try HDF5File(readingAt: path)
        try requireSchema(file, schema)
        let provenance = try Provenance.read(from: file)
        let originalSize = try file.requiredSize("original_size")
        let count = try file.requireShape("boxes", [("D", nil), ("", 4)], holding: .floats)[0]
        for name in ["names", "mask_rle"] { try file.requireShape(name, [("D", count)], holding: .strings) }
        try file.requireShape("scores", [("D", count)], holding: .floats)
        for name in ["question", "scale", "iteration"] { try file.requireShape(name, [("D", count)], holding: .integers) }
        try file.requireShape("point_offsets", [("D+1", count + 1)], holding: .integers)
        let pointCount = try file.requireShape("points", [("P", nil), ("", 2)], holding: .floats)[0]
        try file.requireShape("point_labels", [("P", pointCount)], holding: .integers)
        let inputCount = try file.requireShape("input_files", [("N", nil)], holding: .strings)[0]
        try file.requireShape("input_sha256", [("N", inputCount)], holding: .strings)

        let offsets = try file.readInt32("point_offsets").values.map(Int.init)
        guard offsets.first == 0, offsets.last == pointCount, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw file.invalid("point_offsets \(offsets.prefix(12)) must rise from 0 to the point count \(pointCount)")
        }
        let names = try file.readStrings("names"), scores = try file.readTensor("scores").data
        let boxes = try file.readTensor("boxes").data, rles = try file.readStrings("mask_rle")
        let questions = try file.readInt32("question").values, scales = try file.readInt32("scale").values
        let iterations = try file.readInt32("iteration").values
        let coordinates = try file.readTensor("points").data, labels = try file.readInt32("point_labels").values
        let inputFiles = try file.readStrings("input_files"), inputDigests = try file.readStrings("input_sha256")
        guard Set(inputFiles).count == inputFiles.count else { throw file.invalid("input_files lists a file twice: \(inputFiles.prefix(12))") }

        let detections = (0..<count).map { index in
            let rows = offsets[index] ..< offsets[index + 1], box = 4 * index
            return Detection(name: names[index], score: scores[index],
                             box: PixelBox(x0: boxes[box], y0: boxes[box + 1], x1: boxes[box + 2], y1: boxes[box + 3]),
                             rle: rles[index], question: Int(questions[index]), scale: Int(scales[index]),
                             iteration: Int(iterations[index]),
                             points: rows.map { PixelPoint(x: coordinates[2 * $0], y: coordinates[2 * $0 + 1]) },
                             labels: Array(labels[rows]))
        }
        let artifact = DetectionsArtifact(provenance: provenance, originalSize: originalSize, detections: detections,
                                          inputs: Dictionary(uniqueKeysWithValues: zip(inputFiles, inputDigests)))
        try artifact.validate(path)
        return artifact
    }

    private func validate(_ path: String) throws {
        guard originalSize.height > 0, originalSize.width > 0 else { throw invalidArtifact(path, "original size \(originalSize) is empty") }
        for (index, detection) in detections.enumerated() {
            if let problem = detection.problem() {
                let naming = detection.name.isEmpty ? "detection \(index): " : "detection \(index) (\"\(detection.name)\"): "
                throw invalidArtifact(path, naming + problem)
            }
        }
        guard detections.reduce(0, { $0 + $1.points.count }) <= Int(Int32.max) else {
            throw invalidArtifact(path, "more than 2^31 - 1 points in all")
        }
        for (name, digest) in inputs.sorted(by: { $0.key < $1.key }) where !(digest.count == 64 && digest.allSatisfy(\.isHexDigit)) {
            throw invalidArtifact(path, "input \"\(name)\" has SHA-256 \"\(digest.prefix(80))\", expected 64 hex digits")
        }
    }
}

import Geometry
import TensorMath

/// Several prompt sets for one image, one per object. Schema "vlsam.prompts" (see docs/artifacts.md).
/// Points of all sets are stored together (CSR layout): set s owns rows offsets[s]..<offsets[s+1].
public struct PromptsArtifact: Sendable, Equatable {
    public static let schema = ArtifactSchema.prompts

    /// Which attention (and, when refining, which masks) the points were sampled from.
    public struct Origin: Sendable, Equatable {
        /// 0 for points from the attention alone, k ≥ 1 for refinement step k.
        public var refinementIteration: Int
        public var attentionFile: String
        public var attentionSHA256: String
        /// The previous iteration's masks artifact; "" at iteration 0.
        public var masksFile: String
        public var masksSHA256: String
        public init(refinementIteration: Int, attentionFile: String, attentionSHA256: String,
                    masksFile: String = "", masksSHA256: String = "") {
            self.refinementIteration = refinementIteration
            self.attentionFile = attentionFile
            self.attentionSHA256 = attentionSHA256
            self.masksFile = masksFile
            self.masksSHA256 = masksSHA256
        }
    }

    public var provenance: Provenance
    public var originalSize: ImageSize
    public var sets: [PromptSet]
    /// nil for prompts that were not sampled from attention (written by hand or by a tool).
    public var origin: Origin?

    public init(provenance: Provenance, originalSize: ImageSize, sets: [PromptSet], origin: Origin? = nil) {
        self.provenance = provenance
        self.originalSize = originalSize
        self.sets = sets
        self.origin = origin
    }

    /// Writes atomically: `path` appears complete or not at all.
    public func write(to path: String) throws {
        try validate(path)
        let setCount = sets.count
        var coordinates = [Float](), labels = [Int32](), offsets: [Int32] = [0]
        var boxes = [Float](), hasBox = [UInt8]()
        for set in sets {
            for point in set.points {
                coordinates.append(point.x)
                coordinates.append(point.y)
            }
            labels += set.labels
            offsets.append(Int32(labels.count))
            let box = set.box ?? PixelBox(x0: 0, y0: 0, x1: 0, y1: 0)
            boxes += [box.x0, box.y0, box.x1, box.y1]
            hasBox.append(set.box == nil ? 0 : 1)
        }
        let file = try HDF5File(creatingAt: path)
        try provenance.write(to: file, schema: Self.schema)
        try file.setSize("original_size", originalSize)
        try file.write(coordinates, shape: [labels.count, 2], to: "points")
        try file.describe("points", "prompt points (x, y) in original-image pixels, all sets concatenated")
        try file.write(labels, shape: [labels.count], to: "point_labels")
        try file.describe("point_labels", "label of each point: 1 foreground, 0 background")
        try file.write(offsets, shape: [setCount + 1], to: "set_point_offsets")
        try file.describe("set_point_offsets", "points of set s are rows set_point_offsets[s] ..< set_point_offsets[s+1]")
        try file.write(boxes, shape: [setCount, 4], to: "boxes")
        try file.describe("boxes", "box (x0, y0, x1, y1) of each set in original-image pixels; zeros where has_box is 0")
        try file.write(hasBox, shape: [setCount], to: "has_box")
        try file.describe("has_box", "1 when the set has a box, else 0")
        try file.write(sets.map(\.name), to: "set_names")
        try file.describe("set_names", "object name of each set, or empty")
        try file.write(sets.map { $0.localised ? UInt8(1) : 0 }, shape: [setCount], to: "localised")
        try file.describe("localised", "0 when the object's attention had no candidate pixel: the set is empty and nothing is decoded")
        if let origin {
            try file.setAttribute("refinement_iteration", origin.refinementIteration)
            try file.setAttribute("attention_file", origin.attentionFile)
            try file.setAttribute("attention_sha256", origin.attentionSHA256)
            try file.setAttribute("masks_file", origin.masksFile)
            try file.setAttribute("masks_sha256", origin.masksSHA256)
        }
        if sets.contains(where: { $0.maskInput != nil }) {
            let plane = PromptSet.maskInputShape.reduce(1, *)
            var maskInputs = [Float](repeating: 0, count: setCount * plane)
            for (index, set) in sets.enumerated() {
                guard let maskInput = set.maskInput else { continue }
                maskInputs.replaceSubrange(index * plane ..< (index + 1) * plane, with: maskInput.data)
            }
            try file.write(maskInputs, shape: [setCount] + PromptSet.maskInputShape, to: "mask_inputs")
            try file.describe("mask_inputs", "low-resolution mask logits fed back to the decoder; zeros where has_mask_input is 0", layout: "SHW")
            try file.write(sets.map { $0.maskInput == nil ? UInt8(0) : 1 }, shape: [setCount], to: "has_mask_input")
            try file.describe("has_mask_input", "1 when the set has a mask input, else 0")
        }
        try file.commit()
    }

    public static func read(from path: String) throws -> PromptsArtifact {
        let file = try HDF5File(readingAt: path)
        try requireSchema(file, schema)
        let provenance = try Provenance.read(from: file)
        let originalSize = try file.requiredSize("original_size")
        let pointCount = try file.requireShape("points", [("P", nil), ("", 2)], holding: .floats)[0]
        try file.requireShape("point_labels", [("P", pointCount)], holding: .integers)
        let setCount = try file.requireShape("boxes", [("S", nil), ("", 4)], holding: .floats)[0]
        try file.requireShape("set_point_offsets", [("S+1", setCount + 1)], holding: .integers)
        try file.requireShape("has_box", [("S", setCount)], holding: .integers)
        try file.requireShape("set_names", [("S", setCount)], holding: .strings)

        let coordinates = try file.readTensor("points").data
        let labels = try file.readInt32("point_labels").values
        let offsets = try file.readInt32("set_point_offsets").values.map(Int.init)
        let boxes = try file.readTensor("boxes").data
        let hasBox = try file.readUInt8("has_box").values
        let names = try file.readStrings("set_names")
        guard offsets.first == 0, offsets.last == pointCount, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw file.invalid("set_point_offsets \(offsets.prefix(12)) must rise from 0 to the point count \(pointCount)")
        }
        let maskInputs = try readMaskInputs(file, setCount: setCount)
        var localised = [UInt8](repeating: 1, count: setCount)
        if file.exists("localised") {
            try file.requireShape("localised", [("S", setCount)], holding: .integers)
            localised = try file.readUInt8("localised").values
        }
        var origin: Origin?
        if let iteration = try file.attributeInt("refinement_iteration") {
            guard iteration >= 0 else { throw file.invalid("root attribute \"refinement_iteration\" is \(iteration), expected ≥ 0") }
            origin = Origin(refinementIteration: iteration, attentionFile: try file.requiredString("attention_file"),
                            attentionSHA256: try file.requiredString("attention_sha256"),
                            masksFile: try file.requiredString("masks_file"), masksSHA256: try file.requiredString("masks_sha256"))
        }

        var sets = [PromptSet]()
        sets.reserveCapacity(setCount)
        for index in 0..<setCount {
            let rows = offsets[index] ..< offsets[index + 1]
            guard hasBox[index] <= 1 else { throw file.invalid("has_box[\(index)] is \(hasBox[index]), expected 0 or 1") }
            guard localised[index] <= 1 else { throw file.invalid("localised[\(index)] is \(localised[index]), expected 0 or 1") }
            let box = index * 4
            let set = PromptSet(
                name: names[index],
                points: rows.map { PixelPoint(x: coordinates[2 * $0], y: coordinates[2 * $0 + 1]) },
                labels: Array(labels[rows]),
                box: hasBox[index] == 1 ? PixelBox(x0: boxes[box], y0: boxes[box + 1], x1: boxes[box + 2], y1: boxes[box + 3]) : nil,
                maskInput: maskInputs?[index], localised: localised[index] == 1)
            if let problem = set.problem() ?? set.placementProblem(in: originalSize) {
                throw file.invalid(Self.naming(set, index) + problem)
            }
            sets.append(set)
        }
        return PromptsArtifact(provenance: provenance, originalSize: originalSize, sets: sets, origin: origin)
    }

    /// The optional `mask_inputs` / `has_mask_input` pair, as one optional tensor per set.
    private static func readMaskInputs(_ file: HDF5File, setCount: Int) throws -> [Tensor?]? {
        guard file.exists("mask_inputs") || file.exists("has_mask_input") else { return nil }
        let shape = PromptSet.maskInputShape
        try file.requireShape("mask_inputs", [("S", setCount), ("H", shape[0]), ("W", shape[1])], holding: .floats)
        try file.requireShape("has_mask_input", [("S", setCount)], holding: .integers)
        let planes = try file.readTensor("mask_inputs")
        if let problem = HDF5File.nonFiniteProblem(planes.data, shape: planes.shape, dataset: "mask_inputs") {
            throw file.invalid(problem)
        }
        let present = try file.readUInt8("has_mask_input").values
        return try present.enumerated().map { index, flag in
            guard flag <= 1 else { throw file.invalid("has_mask_input[\(index)] is \(flag), expected 0 or 1") }
            return flag == 1 ? planes[index] : nil
        }
    }

    private static func naming(_ set: PromptSet, _ index: Int) -> String {
        set.name.isEmpty ? "prompt set \(index): " : "prompt set \(index) (\"\(set.name)\"): "
    }

    private func validate(_ path: String) throws {
        guard originalSize.height > 0, originalSize.width > 0 else { throw invalidArtifact(path, "original size \(originalSize) is empty") }
        for (index, set) in sets.enumerated() {
            if let problem = set.problem() ?? set.placementProblem(in: originalSize) {
                throw invalidArtifact(path, Self.naming(set, index) + problem)
            }
        }
    }
}

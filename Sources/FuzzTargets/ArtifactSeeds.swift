import Artifacts
import Geometry

/// Writes one small, valid artifact of each kind whose smallest file fits a fuzzer input
/// (objects, attention, prompts, detections), so the artifact target starts from files every
/// reader's checks pass and mutates from there. Embeddings (4 MB of floats) and masks (256 KB of
/// logits per mask) are too large; their seeds come from the fixtures. Returns the paths written.
public func writeArtifactSeeds(into directory: String) throws -> [String] {
    let provenance = Provenance(producer: "vlsam-fuzz", createdUTC: "2026-01-01T00:00:00Z", modelName: "seed",
                                sourceImage: "seed.jpg", sourceImageSHA256: String(repeating: "ab", count: 32),
                                parameters: #"{"seed":true}"#)
    let size = ImageSize(height: 6, width: 8)
    let digest = String(repeating: "cd", count: 32)
    let seeds: [(name: String, write: (String) throws -> Void)] = [
        ("objects.h5", ObjectsArtifact(
            provenance: provenance, originalSize: size, mode: "generated", imageSplitting: false,
            promptText: "<image>List", inputIDs: [1, 7, 7, 9, 10], imageTokenPositions: [1, 2], imageTokenTile: [0, 0],
            imageTokenCell: [(0, 0), (0, 1)], gridSide: 2, tiles: [.init(row: nil, col: nil, rect: [0, 0, 8, 6])],
            generatedIDs: [9, 10], generatedText: "cat", objects: [.init(name: "cat", spans: [3..<4])]).write),
        ("attention.h5", AttentionArtifact(
            provenance: provenance, originalSize: size, mapSize: ImageSize(height: 2, width: 2), mapRect: [0, 0, 8, 6],
            objectsFile: "objects.h5", objectsSHA256: digest, headWeights: [0.5, 0.25], layers: 1, heads: 2,
            flow: "rollout", alpha: 0.9, regularization: "column", query: "predicting", tiles: "both",
            objects: [.init(name: "cat", rows: [3], tokenVector: [0.5, 1], map: [0, 0.25, 0.5, 1])]).write),
        ("prompts.h5", PromptsArtifact(provenance: provenance, originalSize: size, sets: [
            PromptSet(name: "cat", points: [PixelPoint(x: 1.5, y: 2), PixelPoint(x: 7, y: 5)], labels: [1, 0],
                      box: PixelBox(x0: 1, y0: 1, x1: 7, y1: 5)),
            PromptSet(name: "dog"),
        ]).write),
        ("detections.h5", DetectionsArtifact(
            provenance: provenance, originalSize: size,
            detections: [.init(name: "cat", score: 0.75, box: PixelBox(x0: 0, y0: 0, x1: 8, y1: 6), rle: "0`1",
                               iteration: 1, points: [PixelPoint(x: 4, y: 3)], labels: [1])],
            inputs: ["masks.h5": digest]).write),
    ]
    return try seeds.map { seed in
        let path = directory + "/" + seed.name
        try seed.write(path)
        return path
    }
}

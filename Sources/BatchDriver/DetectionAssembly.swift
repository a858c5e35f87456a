import Checkpoints
import Artifacts
import COCOFormat
import Foundation
import Geometry
import Imaging
import Pipeline
import VLSAMMethod

extension PhotoPipeline {
    /// The last step of a photo: each object's final mask (§9: the latest iteration, or the first
    /// whose mask barely changed from the one before; an object whose refinement stopped keeps
    /// its last mask), pooled over the questions, merged (§10), drawn, and written as the
    /// `vlsam.detections` artifact — last, since it marks the photo done.
    func writeDetections(photo: String, stem: String, iterations: [(question: Int, masks: [String], prompts: [String])]) throws {
        var candidates: [Detection] = []
        var maps: [String: [Float]] = [:]
        var size = ImageSize(height: 0, width: 0)
        for (question, masksPaths, promptsPaths) in iterations {
            let masks = try masksPaths.map { try MasksArtifact.read(from: $0) }
            let prompts = try promptsPaths.map { try PromptsArtifact.read(from: $0) }
            size = masks[0].originalSize
            let attention = try AttentionArtifact.read(from: layout.attention(stem, question: question))
            for (object, name) in masks[0].setNames.enumerated() {
                var final: (iteration: Int, mask: Int)?
                for (k, artifact) in masks.enumerated() {
                    guard let index = Self.keptMask(of: object, in: artifact) else { break }
                    let converged = final.map { previous in
                        Refinement.converged(previous: Array(masks[previous.iteration].mask(previous.mask)),
                                             current: Array(artifact.mask(index)))
                    } ?? false
                    final = (k, index)
                    if converged { break }
                }
                guard let (k, index) = final else { continue }
                let mask = Array(masks[k].mask(index))
                guard let box = Refinement.boundingBox(of: mask, height: size.height, width: size.width) else { continue }
                let set = prompts[k].sets[object]
                candidates.append(Detection(name: name, score: masks[k].iouPredictions[index], mask: mask, box: box,
                                            question: question, scale: 0, iteration: k, points: set.points, labels: set.labels))
                if maps["\(question) \(name)"] == nil { maps["\(question) \(name)"] = promptMap(attention, object: object).values }
            }
        }
        let kept = Merging.keep(candidates, iouThreshold: configuration.mergeIoU).map { candidates[$0] }
        try drawPictures(kept, maps: maps, photo: photo, stem: stem)

        let inputs = try Dictionary(uniqueKeysWithValues: iterations.flatMap(\.masks).map {
            (($0 as NSString).lastPathComponent, try sha256Hex(ofFile: $0))
        })
        let artifact = DetectionsArtifact(
            provenance: Provenance(producer: "vlsam-run", sourceImage: photo, sourceImageSHA256: try sha256Hex(ofFile: photo),
                                   parameters: try Provenance.json(MergeParameters(configuration))),
            originalSize: size,
            detections: kept.map { d in
                DetectionsArtifact.Detection(name: d.name, score: d.score, box: d.box,
                                             rle: RunLengthMask(mask: d.mask, height: size.height, width: size.width).compressedString,
                                             question: d.question, scale: d.scale, iteration: d.iteration,
                                             points: d.points, labels: d.labels)
            },
            inputs: inputs)
        try artifact.write(to: layout.detections(stem))
    }

    /// The mask an object kept in one iteration's masks: the highest predicted IoU among its set's
    /// masks (first on ties); nil when its set was skipped (not localised, or refinement stopped).
    static func keptMask(of object: Int, in masks: MasksArtifact) -> Int? {
        let candidates = masks.promptSet.indices.filter { masks.promptSet[$0] == Int32(object) }
        return candidates.max { masks.iouPredictions[$0] < masks.iouPredictions[$1] }
    }

    /// The overlay of every detection and one panel per detection, before the artifact that
    /// marks the photo done.
    func drawPictures(_ detections: [Detection], maps: [String: [Float]], photo path: String, stem: String) throws {
        let photo = try decodeImage(atPath: path)
        try writePNG(detectionOverlay(photo, detections.map(\.picture)), to: layout.overlay(stem))
        let panels = layout.panels(stem)
        try? FileManager.default.removeItem(atPath: panels)
        try FileManager.default.createDirectory(atPath: panels, withIntermediateDirectories: true)
        for (i, detection) in detections.enumerated() {
            let map = maps["\(detection.question) \(detection.name)"] ?? []
            try writePNG(detectionPanel(photo, detection.picture, attention: map, colourIndex: i),
                         to: (panels as NSString).appendingPathComponent(Self.panelName(i, detection.name)))
        }
    }

    static func panelName(_ index: Int, _ name: String) -> String {
        "\(index)_\(String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" })).png"
    }
}

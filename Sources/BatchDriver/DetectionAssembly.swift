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
    /// its last mask), pooled over the questions and scales — a crop's masks pasted into the photo
    /// at the crop's place, their boxes and points moved with them — merged (§10), drawn, and
    /// written as the `vlsam.detections` artifact — last, since it marks the photo done.
    func writeDetections(photo: String, folder: String, chains: [Chain], inputs: [(name: String, path: String)]) throws {
        let picture = try decodeImage(atPath: photo)
        let size = ImageSize(height: picture.height, width: picture.width)
        var candidates: [Detection] = []
        // Where each candidate's attention map is: its chain's attention artifact, object index, crop.
        var origins: [(attention: String, object: Int, crop: CropRectangle?)] = []
        var randomWeights = false
        for chain in chains {
            let masks = try chain.masks.map { try MasksArtifact.read(from: $0) }
            randomWeights = randomWeights || masks.contains { $0.provenance.randomWeights }
            let prompts = try chain.prompts.map { try PromptsArtifact.read(from: $0) }
            let crop = chain.scale == 0 ? nil : Multiscale.crop(scale: chain.scale, height: size.height, width: size.width)
            let local = crop.map { ImageSize(height: $0.height, width: $0.width) } ?? size
            if let (path, artifact) = zip(chain.masks, masks).first(where: { $0.1.originalSize != local }) {
                throw StageError(path, "holds masks of \(artifact.originalSize.height)x\(artifact.originalSize.width) pixels, " +
                                 "the \(crop == nil ? "photo" : "crop") is \(local.height)x\(local.width)")
            }
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
                var mask = Array(masks[k].mask(index))
                var set = prompts[k].sets[object]
                if let crop {
                    mask = Multiscale.paste(mask, from: crop, height: size.height, width: size.width, zero: 0)
                    set.points = set.points.map { Multiscale.shift($0, by: crop) }
                }
                guard let box = Refinement.boundingBox(of: mask, height: size.height, width: size.width) else { continue }
                candidates.append(Detection(name: name, score: masks[k].iouPredictions[index], mask: mask, box: box,
                                            question: chain.question, scale: chain.scale, iteration: k,
                                            points: set.points, labels: set.labels))
                origins.append((chain.attention, object, crop))
            }
        }
        let keptIndices = Merging.keep(candidates, iouThreshold: configuration.mergeIoU)
        let kept = keptIndices.map { candidates[$0] }
        // The panels' attention maps, for the kept detections only: a crop's map lies at its place
        // in a photo-sized map of zeros.
        var attention: [String: AttentionArtifact] = [:]
        let maps = try keptIndices.map { i -> [Float] in
            let origin = origins[i]
            if attention[origin.attention] == nil { attention[origin.attention] = try AttentionArtifact.read(from: origin.attention) }
            let map = promptMap(attention[origin.attention]!, object: origin.object).values
            return origin.crop.map { Multiscale.paste(map, from: $0, height: size.height, width: size.width, zero: 0) } ?? map
        }
        try drawPictures(kept, maps: maps, photo: picture, folder: folder)

        let artifact = DetectionsArtifact(
            provenance: Provenance(producer: "vlsam-run", sourceImage: photo, sourceImageSHA256: try sha256Hex(ofFile: photo),
                                   parameters: try Provenance.json(MergeParameters(configuration)), randomWeights: randomWeights),
            originalSize: size,
            detections: kept.map { d in
                DetectionsArtifact.Detection(name: d.name, score: d.score, box: d.box,
                                             rle: RunLengthMask(mask: d.mask, height: size.height, width: size.width).compressedString,
                                             question: d.question, scale: d.scale, iteration: d.iteration,
                                             points: d.points, labels: d.labels)
            },
            inputs: try Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, try sha256Hex(ofFile: $0.path)) }))
        try artifact.write(to: layout.detections(folder))
    }

    /// The mask an object kept in one iteration's masks: the highest predicted IoU among its set's
    /// masks (first on ties); nil when its set was skipped (not localised, or refinement stopped).
    static func keptMask(of object: Int, in masks: MasksArtifact) -> Int? {
        let candidates = masks.promptSet.indices.filter { masks.promptSet[$0] == Int32(object) }
        return candidates.max { masks.iouPredictions[$0] < masks.iouPredictions[$1] }
    }

    /// The overlay of every detection and one panel per detection (with its photo-sized attention
    /// map), before the artifact that marks the photo done.
    func drawPictures(_ detections: [Detection], maps: [[Float]], photo: RGBImage, folder: String) throws {
        try writePNG(detectionOverlay(photo, detections.map(\.picture)), to: layout.overlay(folder))
        let panels = layout.panels(folder)
        try? FileManager.default.removeItem(atPath: panels)
        try FileManager.default.createDirectory(atPath: panels, withIntermediateDirectories: true)
        for (i, (detection, map)) in zip(detections, maps).enumerated() {
            try writePNG(detectionPanel(photo, detection.picture, attention: map, colourIndex: i),
                         to: (panels as NSString).appendingPathComponent(Self.panelName(i, detection.name)))
        }
    }

    static func panelName(_ index: Int, _ name: String) -> String {
        "\(index)_\(String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" })).png"
    }
}

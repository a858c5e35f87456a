import Artifacts
import Checkpoints
import Foundation
import Imaging
import SAMModels

/// Image encoding: photo → `vlsam.embedding` artifact.
public struct EncodeStage {
    /// What the artifact's `parameters` record (encoding has no options of its own).
    struct Recorded: Codable {
        var resize: String
        var modelInputSize: Int
    }

    public let loaded: LoadedModel

    public init(checkpoint: String) throws {
        loaded = try LoadedModel(checkpoint: checkpoint)
    }

    /// Shares a model already loaded (a driver loads it once for encoding and decoding).
    public init(loaded: LoadedModel) {
        self.loaded = loaded
    }

    /// The `parameters` its artifacts record: how this model resizes a photo.
    public func recordedParameters() throws -> String {
        try Provenance.json(Recorded(resize: loaded.model.resizeDescription, modelInputSize: loaded.model.imageSize))
    }

    /// Encodes one photo and writes its artifact atomically.
    public func run(image imagePath: String, output: String) throws {
        try requireOutput(output, differentFrom: [("image", imagePath), ("checkpoint", loaded.checkpointPath)])
        let image = try decodeImage(atPath: imagePath)
        let model = loaded.model
        let (embedding, geometry) = model.encode(image)
        if embedding.hasNonFinite {
            throw StageError(imagePath, "the image embedding contains NaN or infinity (corrupt checkpoint \(loaded.checkpointPath)?)")
        }
        let provenance = Provenance(
            producer: "vlsam-encode", modelName: model.name,
            checkpointPath: loaded.checkpointPath, checkpointSHA256: loaded.checkpointSHA256,
            sourceImage: imagePath, sourceImageSHA256: try sha256Hex(ofFile: imagePath),
            parameters: try recordedParameters())
        let artifact = EmbeddingArtifact(
            provenance: provenance, family: model.family.rawValue,
            originalSize: geometry.originalSize, inputSize: geometry.inputSize,
            modelInputSize: geometry.modelInputSize, resize: model.resizeDescription,
            pixelMean: model.pixelMean.map(Double.init), pixelStd: model.pixelStd.map(Double.init),
            pixelScale: model.pixelScale, embedding: embedding)
        try artifact.write(to: output)
    }
}

extension EmbeddingArtifact {
    /// The geometry decoding needs.
    public var geometry: ImageGeometry {
        ImageGeometry(originalSize: originalSize, inputSize: inputSize, modelInputSize: modelInputSize)
    }
}

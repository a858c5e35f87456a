import Geometry
import TensorMath

/// The image encoder's output for one image, with everything a decoder needs to map prompts into it.
/// Schema "vlsam.embedding" (see docs/artifacts.md).
public struct EmbeddingArtifact: Sendable, Equatable {
    public static let schema = ArtifactSchema.embedding
    public static let embeddingShape = [256, 64, 64]
    public static let families = ["sam", "efficientsam"]
    public static let pixelScales = ["0..255", "0..1"]

    public var provenance: Provenance
    /// "sam" or "efficientsam".
    public var family: String
    public var originalSize: ImageSize
    /// Size of the resized image content inside the model input (683x1024 for SAM on 1200x1800).
    public var inputSize: ImageSize
    /// Side of the square model input (1024).
    public var modelInputSize: Int
    /// How the image was resized, e.g. "resize_longest_side_pil_bilinear" or "stretch_bilinear_torch".
    public var resize: String
    public var pixelMean: [Double]
    public var pixelStd: [Double]
    /// Range the mean/std apply to: "0..255" or "0..1".
    public var pixelScale: String
    /// [256, 64, 64], CHW.
    public var embedding: Tensor

    public init(provenance: Provenance, family: String, originalSize: ImageSize, inputSize: ImageSize,
                modelInputSize: Int, resize: String, pixelMean: [Double], pixelStd: [Double], pixelScale: String,
                embedding: Tensor) {
        self.provenance = provenance
        self.family = family
        self.originalSize = originalSize
        self.inputSize = inputSize
        self.modelInputSize = modelInputSize
        self.resize = resize
        self.pixelMean = pixelMean
        self.pixelStd = pixelStd
        self.pixelScale = pixelScale
        self.embedding = embedding
    }

    /// Writes atomically: `path` appears complete or not at all.
    public func write(to path: String) throws {
        try validate(path)
        let file = try HDF5File(creatingAt: path)
        try provenance.write(to: file, schema: Self.schema)
        try file.setAttribute("model_family", family)
        try file.setSize("original_size", originalSize)
        try file.setSize("input_size", inputSize)
        try file.setAttribute("model_input_size", modelInputSize)
        try file.setAttribute("resize", resize)
        try file.setAttribute("pixel_mean", pixelMean)
        try file.setAttribute("pixel_std", pixelStd)
        try file.setAttribute("pixel_scale", pixelScale)
        // Floats barely compress, so no gzip; 16-channel chunks let a reader fetch a few channels cheaply.
        try file.write(embedding, to: "image_embedding", chunks: [16, 64, 64])
        try file.describe("image_embedding", "image encoder output after the neck, one 64x64 map per channel", layout: "CHW")
        try file.commit()
    }

    public static func read(from path: String) throws -> EmbeddingArtifact {
        let file = try HDF5File(readingAt: path)
        try requireSchema(file, schema)
        try file.requireShape("image_embedding", [("C", embeddingShape[0]), ("H", embeddingShape[1]), ("W", embeddingShape[2])],
                              holding: .floats)
        let artifact = EmbeddingArtifact(
            provenance: try Provenance.read(from: file),
            family: try file.requiredChoice("model_family", among: families),
            originalSize: try file.requiredSize("original_size"),
            inputSize: try file.requiredSize("input_size"),
            modelInputSize: try file.requiredInt("model_input_size"),
            resize: try file.requiredString("resize"),
            pixelMean: try file.requiredDoubles("pixel_mean"),
            pixelStd: try file.requiredDoubles("pixel_std"),
            pixelScale: try file.requiredChoice("pixel_scale", among: pixelScales),
            embedding: try file.readTensor("image_embedding"))
        try artifact.validate(path)
        return artifact
    }

    private func validate(_ path: String) throws {
        guard Self.families.contains(family) else { throw invalidArtifact(path, "unknown model family \"\(family)\" (expected sam or efficientsam)") }
        guard embedding.shape == Self.embeddingShape else {
            throw invalidArtifact(path, "image embedding has shape \(embedding.shape), expected \(Self.embeddingShape)")
        }
        if let problem = HDF5File.nonFiniteProblem(embedding.data, shape: embedding.shape, dataset: "image_embedding") {
            throw invalidArtifact(path, problem)
        }
        guard originalSize.height > 0, originalSize.width > 0 else { throw invalidArtifact(path, "original size \(originalSize) is empty") }
        guard modelInputSize > 0, (1...modelInputSize).contains(inputSize.height), (1...modelInputSize).contains(inputSize.width) else {
            throw invalidArtifact(path, "input size \(inputSize) does not fit the \(modelInputSize)-pixel model input")
        }
        guard !resize.isEmpty else { throw invalidArtifact(path, "resize description is empty") }
        guard pixelMean.count == 3, pixelStd.count == 3, pixelStd.allSatisfy({ $0 > 0 }), pixelMean.allSatisfy(\.isFinite) else {
            throw invalidArtifact(path, "pixel mean \(pixelMean) / std \(pixelStd) must be 3 finite values each, std positive")
        }
        guard Self.pixelScales.contains(pixelScale) else { throw invalidArtifact(path, "pixel scale \"\(pixelScale)\" is not 0..255 or 0..1") }
    }
}

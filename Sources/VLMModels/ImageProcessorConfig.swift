import Foundation
import Imaging

/// A bad image-processor config, prompt or image. `description` is one line: what was being
/// read (a file path, "prompt", or the image size), then what is wrong with it.
public struct ImageProcessorError: Error, Equatable, CustomStringConvertible, LocalizedError {
    public let subject: String
    public let reason: String

    public init(subject: String, reason: String) {
        self.subject = subject
        self.reason = reason
    }

    public var description: String { "\(subject): \(reason)" }
    public var errorDescription: String? { description }
}

extension Idefics3ImageProcessor {
    /// Reads a Hugging Face `preprocessor_config.json` (and, when given, the `image_seq_len` of
    /// `processor_config.json`; 64 otherwise). `size.longest_edge` and
    /// `max_image_size.longest_edge` are required; the other fields default as in transformers'
    /// `Idefics3ImageProcessor`.
    public init(configPath: String, processorConfigPath: String? = nil) throws {
        let config = try decodeJSONFile(PreprocessorConfigFile.self, path: configPath)
        func invalid(_ reason: String) -> ImageProcessorError { ImageProcessorError(subject: configPath, reason: reason) }

        let resampleCode = try positiveInteger(config.resample ?? 1, "resample", in: configPath, allowZero: true)
        guard let filter = PILResampleFilter(pillowCode: resampleCode) else {
            throw invalid("resample \(resampleCode) is not supported (expected 1 LANCZOS, 2 BILINEAR or 3 BICUBIC)")
        }
        let mean = config.image_mean ?? [0.5, 0.5, 0.5], std = config.image_std ?? [0.5, 0.5, 0.5]
        guard mean.count == 3, std.count == 3 else {
            throw invalid("image_mean and image_std need 3 values each, got \(mean.count) and \(std.count)")
        }
        guard !std.contains(0) else { throw invalid("image_std contains 0") }

        var imageSeqLen = 64
        if let processorConfigPath {
            let processorConfig = try decodeJSONFile(ProcessorConfigFile.self, path: processorConfigPath)
            imageSeqLen = try positiveInteger(processorConfig.image_seq_len ?? 64, "image_seq_len", in: processorConfigPath)
            let side = Int(Double(imageSeqLen).squareRoot().rounded())
            guard side * side == imageSeqLen else {
                throw ImageProcessorError(subject: processorConfigPath,
                                          reason: "image_seq_len \(imageSeqLen) is not a square number")
            }
        }
        self.init(longestEdge: try positiveInteger(config.size.longest_edge, "size.longest_edge", in: configPath),
                  tileSize: try positiveInteger(config.max_image_size.longest_edge, "max_image_size.longest_edge",
                                                in: configPath),
                  doImageSplitting: config.do_image_splitting ?? true, doResize: config.do_resize ?? true,
                  filter: filter, doRescale: config.do_rescale ?? true, rescaleFactor: config.rescale_factor ?? 1.0 / 255,
                  doNormalize: config.do_normalize ?? true, imageMean: mean.map(Float.init), imageStd: std.map(Float.init),
                  imageSeqLen: imageSeqLen)
    }
}

/// The fields of preprocessor_config.json this processor uses. Integers are read as doubles
/// so a fractional value gets a clear message instead of a generic decoding failure.
private struct PreprocessorConfigFile: Decodable {
    struct Edge: Decodable { let longest_edge: Double }
    let size: Edge
    let max_image_size: Edge
    let resample: Double?
    let do_image_splitting: Bool?
    let do_resize: Bool?
    let do_rescale: Bool?
    let rescale_factor: Double?
    let do_normalize: Bool?
    let image_mean: [Double]?
    let image_std: [Double]?
}

private struct ProcessorConfigFile: Decodable {
    let image_seq_len: Double?
}

private func positiveInteger(_ value: Double, _ key: String, in path: String, allowZero: Bool = false) throws -> Int {
    guard let integer = Int(exactly: value), integer > 0 || (allowZero && integer == 0) else {
        throw ImageProcessorError(subject: path, reason: "\(key) should be a \(allowZero ? "non-negative" : "positive") integer, found \(value)")
    }
    return integer
}

/// Decodes a JSON file, turning every failure into a one-line `ImageProcessorError`.
/// (JSONDecoder, unlike Linux JSONSerialization, parses doubles correctly rounded:
/// `rescale_factor` must come out as exactly 1/255.)
private func decodeJSONFile<Value: Decodable>(_ type: Value.Type, path: String) throws -> Value {
    func failure(_ reason: String) -> ImageProcessorError { ImageProcessorError(subject: path, reason: reason) }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw failure("no such file") }
    guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
        throw failure("cannot be read")
    }
    guard !data.isEmpty else { throw failure("file is empty") }
    do {
        return try JSONDecoder().decode(type, from: data)
    } catch let error as DecodingError {
        /// A coding path as a reader would write it: `image_std[1]`, `size.longest_edge`.
        func field(_ path: [CodingKey]) -> String {
            var text = ""
            for key in path {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text
        }
        switch error {
        case .keyNotFound(let key, let context):
            throw failure("missing \(field(context.codingPath + [key]))")
        case .valueNotFound(_, let context):
            throw failure("\(field(context.codingPath)) is null")
        case .typeMismatch(let expected, let context) where context.codingPath.isEmpty:
            throw failure(expected is [String: Any].Type ? "top level is not a JSON object" : "unexpected top-level value")
        case .typeMismatch(let expected, let context):
            throw failure("\(field(context.codingPath)) has the wrong type (expected \(expected))")
        case .dataCorrupted:
            throw failure("not valid JSON (truncated or corrupt?)")
        @unknown default:
            throw failure("cannot be decoded")
        }
    }
}

import Artifacts
import Checkpoints
import Imaging

/// A reader of untrusted files, as the fuzzer and the regression tests drive it: each target
/// reads a file through the same public API the stages use, all the way (pixels decoded,
/// tensors materialised), so a crash anywhere on that path is found.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `decodeImage`; the two image targets differ only in their seed corpora.
    case jpeg, png
    /// `loadPyTorchCheckpoint`: zip archive, pickle, every tensor materialised.
    case checkpoint
    /// `loadSafetensors`: JSON header, every tensor materialised.
    case safetensors
    /// `GGUFFile`: metadata, the LLaMA configuration and tokenizer, every tensor dequantised.
    case gguf
    /// Every artifact kind's `read(from:)` on the same file.
    case artifacts

    /// Reads the file at `path`; throws what the reader throws (an artifact throws when no kind accepts it).
    public func read(path: String) throws {
        switch self {
        case .jpeg, .png: _ = try decodeImage(atPath: path)
        case .checkpoint: _ = try loadPyTorchCheckpoint(path)
        case .safetensors: _ = try loadSafetensors(path)
        case .gguf: try readGGUF(path)
        case .artifacts: _ = try readAnyArtifact(path)
        }
    }
}

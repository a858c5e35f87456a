import Checkpoints

/// Reads a GGUF file as the language model does: the LLaMA configuration, the tokenizer
/// metadata, then each tensor as float32 and, for the quantised ones, as blocks. The data of a
/// well-formed file is bounded by its size, so every tensor is read. Throws the first error
/// after trying everything, so one bad part does not hide the parts after it.
func readGGUF(_ path: String) throws {
    let file = try GGUFFile(path: path)
    var firstError: Error?
    func attempt(_ body: () throws -> Void) {
        do { try body() } catch { firstError = firstError ?? error }
    }
    attempt { _ = try GGUFLlamaConfig(file) }
    attempt { _ = try GGUFTokenizerMetadata(file) }
    for info in file.tensors {
        attempt { _ = try file.tensor(info.name) }
        attempt { _ = try file.quantizedMatrix(info.name) }
    }
    attempt { _ = try file.stateDict() }
    if let firstError { throw firstError }
}

import Foundation

/// Refuses an output path (file or folder) that leads to one of the stage's inputs: writing there
/// would replace that input (`vlsam-encode --output photo.jpg photo.jpg`). Paths are compared by the
/// device and inode they lead to, so symbolic links, hard links and `./a` vs `a` are caught.
/// Called before anything is written.
public func requireOutput(_ output: String, differentFrom inputs: [(role: String, path: String)]) throws {
    // An output that does not exist yet cannot be an input.
    guard let target = FileIdentity(path: output) else { return }
    for input in inputs where FileIdentity(path: input.path) == target {
        throw StageError(output, "is the same as the \(input.role) \(input.path); refusing to overwrite an input")
    }
}

/// The files of a model folder (config, tokenizer, weights, …), as inputs of a stage that loads it.
func modelFolderInputs(_ directory: String) -> [(role: String, path: String)] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.map { ("model file", (directory as NSString).appendingPathComponent($0)) }
}

/// Which file a path leads to, links followed.
private struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64

    init?(path: String) {
        var information = stat()
        guard stat(path, &information) == 0 else { return nil }
        device = UInt64(information.st_dev)
        inode = UInt64(information.st_ino)
    }
}

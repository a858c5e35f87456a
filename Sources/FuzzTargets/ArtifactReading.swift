import Artifacts

/// Reads the file with every artifact kind's reader, as any stage might be handed it. Returns
/// the kinds that accepted it; throws the first reader's error when none did.
@discardableResult
public func readAnyArtifact(_ path: String) throws -> [String] {
    let readers: [(kind: String, read: (String) throws -> Any)] = [
        ("objects", ObjectsArtifact.read), ("attention", AttentionArtifact.read),
        ("prompts", PromptsArtifact.read), ("embedding", EmbeddingArtifact.read),
        ("masks", MasksArtifact.read), ("detections", DetectionsArtifact.read),
    ]
    var accepted: [String] = []
    var firstError: Error?
    for reader in readers {
        do {
            _ = try reader.read(path)
            accepted.append(reader.kind)
        } catch {
            firstError = firstError ?? error
        }
    }
    if accepted.isEmpty, let firstError { throw firstError }
    return accepted
}

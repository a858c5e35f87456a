import Checkpoints
import Foundation
import Pipeline

/// One photo of a batch: its file, the folder of `OUT/photos` that holds its artifacts, and the
/// name the batch files (detections.json, images.json, report.html) give it.
///
/// The folder is the photo's stem (its file name without the extension), unless another photo of
/// the batch has the same stem up to ASCII letter case (`a/truck.jpg` and `b/truck.jpg`,
/// `truck.jpg` and `truck.png`, `Truck.jpg` and `truck.JPG`): then each of those gets
/// `<stem>-<h>`, h the first 8 hex digits of the SHA-256 of its path relative to the batch's root
/// (the deepest folder that holds every photo of the batch; for a folder of photos, that folder,
/// so the relative path is the file name). Case is ignored so that the folders stay apart on a
/// case-insensitive file system too. The name is the file name, or the relative path when another
/// photo of the batch has the same file name.
///
/// Both depend on the batch's list of photos only, not on its order or on which photos a shard
/// runs; `pipelines/vlsam.mk` names its folders the same way.
public struct BatchPhoto: Sendable, Equatable {
    public let path: String
    public let folder: String
    public let name: String

    /// Every photo of a batch, in the given order. Refuses a file listed twice, and the (unlikely)
    /// case of a hashed folder name that equals another photo's folder.
    public static func batch(_ paths: [String]) throws -> [BatchPhoto] {
        let absolute = paths.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        var seen: [String: String] = [:]
        for (path, resolved) in zip(paths, absolute) {
            if let other = seen[resolved] { throw StageError(path, "is in the batch twice (also as \(other))") }
            seen[resolved] = path
        }
        let relative = relativePaths(absolute)
        let stems = relative.map { caseFolded((($0 as NSString).lastPathComponent as NSString).deletingPathExtension) }
        let fileNames = relative.map { ($0 as NSString).lastPathComponent }
        let stemCounts = Dictionary(stems.map { ($0, 1) }, uniquingKeysWith: +)
        let nameCounts = Dictionary(fileNames.map { ($0, 1) }, uniquingKeysWith: +)
        var photos: [BatchPhoto] = [], folders: [String: String] = [:]
        for (i, path) in paths.enumerated() {
            let stem = (fileNames[i] as NSString).deletingPathExtension
            let folder = stemCounts[stems[i]]! > 1 ? "\(stem)-\(sha256Hex(of: Array(relative[i].utf8)).prefix(8))" : stem
            if let other = folders[caseFolded(folder)] {
                throw StageError(path, "its output folder \(folder) would be \(other)'s too; rename one of them")
            }
            folders[caseFolded(folder)] = path
            photos.append(BatchPhoto(path: path, folder: folder, name: nameCounts[fileNames[i]]! > 1 ? relative[i] : fileNames[i]))
        }
        return photos
    }

    /// The paths below the deepest folder that holds them all.
    static func relativePaths(_ absolute: [String]) -> [String] {
        let folders = absolute.map { Array(($0 as NSString).pathComponents.dropLast()) }
        var root = folders.first ?? []
        for folder in folders.dropFirst() {
            root = Array(zip(root, folder).prefix { $0 == $1 }.map(\.0))
        }
        return absolute.map { NSString.path(withComponents: Array(($0 as NSString).pathComponents.dropFirst(root.count))) }
    }

    /// `text` with the ASCII capitals lowered: what make's `tr A-Z a-z` does, so both agree.
    static func caseFolded(_ text: String) -> String {
        String(decoding: text.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}

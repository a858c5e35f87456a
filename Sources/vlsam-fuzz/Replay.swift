import Foundation
import FuzzTargets

/// Reads every file given (folders: every file inside, recursively) with `target`, printing
/// "PATH: accepted" or "PATH: rejected: ERROR". A crash ends the process as it would a stage.
/// Returns the exit status: 0 when every file was read or rejected, 2 for a missing path.
func replay(_ target: FuzzTarget, _ paths: [String]) -> Int32 {
    var status: Int32 = 0
    for path in paths {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            fputs("vlsam-fuzz: \(path): no such file or folder\n", stderr)
            status = 2
            continue
        }
        let files = isFolder.boolValue ? filesInside(path.hasSuffix("/") ? String(path.dropLast()) : path) : [path]
        for file in files {
            do {
                try target.read(path: file)
                print("\(file): accepted")
            } catch {
                print("\(file): rejected: \(error)")
            }
        }
    }
    return status
}

private func filesInside(_ folder: String) -> [String] {
    let enumerator = FileManager.default.enumerator(atPath: folder)
    var files: [String] = []
    while let relative = enumerator?.nextObject() as? String {
        let path = folder + "/" + relative
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue { files.append(path) }
    }
    return files.sorted()
}

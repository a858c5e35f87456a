#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private func systemReason(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// Reads a whole file, classifying failures (missing, directory, unreadable, empty).
func readFileBytes(atPath path: String) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY)
    if descriptor < 0 {
        let code = errno
        throw ImageError(path: path, kind: code == ENOENT ? .missing : .unreadable,
                         reason: code == ENOENT ? "no such file" : "cannot open: \(systemReason(code))")
    }
    defer { close(descriptor) }

    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
        throw ImageError(path: path, kind: .unreadable, reason: "cannot stat: \(systemReason())")
    }
    guard (status.st_mode & S_IFMT) == S_IFREG else {
        throw ImageError(path: path, kind: .unreadable, reason: "not a regular file")
    }
    let size = Int(status.st_size)
    guard size > 0 else { throw ImageError(path: path, kind: .empty, reason: "file is empty (0 bytes)") }

    var bytes = [UInt8](repeating: 0, count: size)
    var filled = 0
    try bytes.withUnsafeMutableBytes { buffer in
        while filled < size {
            let count = read(descriptor, buffer.baseAddress! + filled, size - filled)
            if count < 0 {
                if errno == EINTR { continue }
                throw ImageError(path: path, kind: .unreadable, reason: "read failed: \(systemReason())")
            }
            if count == 0 { break }
            filled += count
        }
    }
    guard filled == size else {
        throw ImageError(path: path, kind: .unreadable,
                         reason: "file shrank while being read (\(filled) of \(size) bytes)")
    }
    return bytes
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`, so readers
/// never see a partly written file. The temporary file, `.<name>.partial-<pid>.<random>`, names
/// its writer, so that one a killed writer left can be told from a live writer's.
public func writeFileAtomically(_ bytes: UnsafeRawBufferPointer, toPath path: String) throws {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[...$0]) } ?? ""
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    var template = Array("\(directory).\(name).partial-\(getpid()).XXXXXX".utf8CString)
    let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard descriptor >= 0 else {
        throw ImageError(path: path, kind: .writeFailed,
                         reason: "cannot create a temporary file in \(directory.isEmpty ? "." : directory): \(systemReason())")
    }
    let temporaryPath = String(cString: template)
    var succeeded = false
    defer {
        if !succeeded { unlink(temporaryPath) }
    }

    var written = 0
    while written < bytes.count {
        let count = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
        if count < 0 {
            if errno == EINTR { continue }
            let reason = systemReason()
            close(descriptor)
            throw ImageError(path: path, kind: .writeFailed, reason: "write failed: \(reason)")
        }
        written += count
    }
    // mkstemp creates the file private to the owner; give it the usual rw-r--r--.
    // (Reading the umask would mean changing it, which races with other threads.)
    fchmod(descriptor, 0o644)
    guard close(descriptor) == 0 else {
        throw ImageError(path: path, kind: .writeFailed, reason: "close failed: \(systemReason())")
    }
    guard rename(temporaryPath, path) == 0 else {
        throw ImageError(path: path, kind: .writeFailed, reason: "cannot rename the temporary file into place: \(systemReason())")
    }
    succeeded = true
}

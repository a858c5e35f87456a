#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Where a fuzzing process puts each input for the readers, which take paths (HDF5 can only
/// open files): in /dev/shm when there is one, so no input touches a disk.
public struct ScratchFile: Sendable {
    public let path: String

    public init() {
        let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : NSTemporaryDirectory()
        path = directory + "vlsam-fuzz-\(getpid())"
    }

    /// Writes `bytes` to the file, runs `body` with its path, then removes the file again.
    public func holding(_ bytes: UnsafeRawBufferPointer, _ body: (String) -> Void) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(descriptor >= 0, "\(path): cannot create the scratch file: \(String(cString: strerror(errno)))")
        var written = 0
        while written < bytes.count {
            let count = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if count < 0 && errno == EINTR { continue }
            precondition(count > 0, "\(path): cannot write the scratch file: \(String(cString: strerror(errno)))")
            written += count
        }
        close(descriptor)
        defer { unlink(path) }
        body(path)
    }
}

extension FuzzTarget {
    /// One fuzzer input: written to `scratch`, then read. Errors are the readers' answer to bad
    /// input and are expected; only a crash, a hang or a runaway allocation is a finding.
    public func fuzz(_ input: UnsafeRawBufferPointer, scratch: ScratchFile) {
        scratch.holding(input) { path in _ = try? read(path: path) }
    }
}

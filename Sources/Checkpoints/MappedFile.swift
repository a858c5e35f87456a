#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory, so multi-GB checkpoints are read in place
/// instead of being copied into a buffer first. Unmapped when released.
final class MappedFile {
    let path: String
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw CheckpointError(path: path, kind: .unreadable, problem: "cannot open: \(systemErrorText())")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw CheckpointError(path: path, kind: .unreadable, problem: "cannot stat: \(systemErrorText())")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw CheckpointError(path: path, kind: .unreadable, problem: "not a regular file")
        }
        let size = Int(info.st_size)
        guard size > 0 else { throw CheckpointError(path: path, kind: .truncated, problem: "empty file (0 bytes)") }
        let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let base, base != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw CheckpointError(path: path, kind: .unreadable, problem: "cannot map \(grouped(size)) bytes: \(systemErrorText())")
        }
        self.path = path
        self.bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    }

    /// Drops the pages holding `range` from this process's memory once their bytes have been
    /// copied out, so that loading holds the file's pages and the loaded tensors at once only for
    /// one tensor. The mapping is private and never written: a page touched again is read again
    /// from the file.
    func release(_ range: Range<Int>) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let base = Int(bitPattern: bytes.baseAddress)
        let start = (base + range.lowerBound) / page * page, end = base + range.upperBound
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, Int32(MADV_DONTNEED))
    }

    func error(_ problem: String, kind: CheckpointError.Kind = .malformed, tensor: String? = nil) -> CheckpointError {
        CheckpointError(path: path, kind: kind, tensor: tensor, problem: problem)
    }
}

func systemErrorText() -> String {
    String(cString: strerror(errno))
}

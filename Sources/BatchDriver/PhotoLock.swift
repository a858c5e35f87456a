import Foundation
import Pipeline

/// An advisory lock (flock) on a photo's folder, so two drivers — or a driver and make, whose
/// rules take the same lock with flock(1) — never work on one photo at the same time.
final class PhotoLock {
    private let descriptor: Int32

    /// Takes the lock; nil when `wait` is false and someone else holds it.
    init?(path: String, wait: Bool) throws {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StageError(path, "cannot open the lock file: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0 else {
            let error = errno
            close(fd)
            if error == EWOULDBLOCK { return nil }
            throw StageError(path, "cannot lock: \(String(cString: strerror(error)))")
        }
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

import Foundation

/// The temporary files that killed writers leave in OUT, and their removal.
///
/// Every writer of OUT writes a file under a hidden temporary name that carries its process id,
/// `.<name>.partial-<pid>` (HDF5 artifacts; make's stamps, with the shell's pid) or
/// `.<name>.partial-<pid>.<random>` (PNG, JSON, HTML), and renames it when complete; a killed
/// writer leaves that file behind. It is removed when its writer is gone: no process has the pid,
/// or the process that has it started after the file was last written (the pid was reused), so a
/// live writer's file is never touched. In a photo's folder this is done only while holding the
/// photo's lock, which every cooperating writer of the folder holds too: that also covers
/// writers on other machines sharing OUT, whose pids mean nothing here, and a pid reused between
/// the check and the removal.
public enum LeftoverFiles {
    /// A live process may have written its file this long before it seemed to start (the boot
    /// time is whole seconds, and the clock may be adjusted).
    static let startSlack: TimeInterval = 30

    /// The writer's pid when `name` is a temporary file's name, else nil.
    static func writerPID(ofFileNamed name: String) -> pid_t? {
        guard name.hasPrefix("."), let marker = name.range(of: ".partial-", options: .backwards) else { return nil }
        let digits = name[marker.upperBound...].prefix { $0.isASCII && $0.isNumber }
        let rest = name[marker.upperBound...].dropFirst(digits.count)
        guard !digits.isEmpty, rest.isEmpty || rest.hasPrefix("."), let pid = pid_t(digits), pid > 0 else { return nil }
        return pid
    }

    /// Whether the process that wrote `path` is gone.
    static func writerIsGone(_ path: String, pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        guard let started = processStart(pid) else { return false }
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        let written = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
        return written < started.timeIntervalSince1970 - startSlack
    }

    /// When process `pid` started (Linux: /proc/<pid>/stat and the boot time), nil when unknown.
    static func processStart(_ pid: pid_t) -> Date? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.range(of: ")", options: .backwards),
              let system = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let bootLine = system.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let boot = Double(bootLine.dropFirst(6)) else { return nil }
        // After the command's closing parenthesis come fields 3, 4, …; the start time (clock
        // ticks after boot) is field 22.
        let fields = stat[end.upperBound...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        return Date(timeIntervalSince1970: boot + ticks / Double(sysconf(Int32(_SC_CLK_TCK))))
    }

    /// Removes the temporary files of gone writers in `folder` and below; returns their paths.
    @discardableResult
    static func remove(in folder: String, skipping skipped: Set<String> = []) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: folder) else { return [] }
        var removed: [String] = []
        for case let relative as String in enumerator {
            if skipped.contains(relative) {
                enumerator.skipDescendants()
                continue
            }
            let path = (folder as NSString).appendingPathComponent(relative)
            guard let pid = writerPID(ofFileNamed: (relative as NSString).lastPathComponent),
                  writerIsGone(path, pid: pid), unlink(path) == 0 else { continue }
            removed.append(path)
        }
        return removed
    }

    /// Removes the temporary files of gone writers anywhere in OUT: in each photo's folder while
    /// holding its lock (a folder another process holds is left to it), elsewhere directly.
    @discardableResult
    public static func removeAll(in layout: OutputLayout) -> [String] {
        var removed = remove(in: layout.root, skipping: ["photos"])
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: layout.path("photos"))) ?? []
        for folder in folders.sorted() {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: layout.photoFolder(folder), isDirectory: &isFolder), isFolder.boolValue,
                  let held = try? PhotoLock(path: layout.lock(folder), wait: false) else { continue }
            removed += remove(in: layout.photoFolder(folder))
            withExtendedLifetime(held) {}
        }
        return removed
    }
}

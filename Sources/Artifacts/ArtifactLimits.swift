import Foundation
import Imaging
import Synchronization

/// How large an artifact may claim to be before a reader allocates anything for it.
///
/// A hostile or corrupt file can announce a dataset of 10^15 elements or an image of 10^10
/// pixels in a few bytes; readers compare every announced size with these limits first and
/// refuse with a one-line error naming the file and the dataset or attribute.
public enum ArtifactLimits {
    /// A quarter of the physical memory: a dataset this large still leaves room for its conversion
    /// and for the stage's own work.
    public static let defaultMaxDatasetBytes = Int(clamping: ProcessInfo.processInfo.physicalMemory / 4)

    private static let datasetBytes = Mutex(defaultMaxDatasetBytes)

    /// Largest single dataset or attribute a reader loads, in bytes of memory (`--max-dataset-mb`).
    public static var maxDatasetBytes: Int {
        get { datasetBytes.withLock { $0 } }
        set { datasetBytes.withLock { $0 = newValue } }
    }

    /// Largest image (height × width) a recorded size such as `original_size` may describe: the
    /// process's one pixel limit, the one image decoding applies (`--max-pixels`).
    public static var maxPixels: Int { decodePixelLimit() }
}

extension ArtifactLimits {
    /// Bytes as a person reads them: "512 MiB", "5.8 GiB".
    static func describe(bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) bytes" : String(format: value < 10 ? "%.1f" : "%.0f", value) + " " + units[unit]
    }
}

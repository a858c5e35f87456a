import Checkpoints
import TestSupport
import XCTest

/// The format-level files of the bad-input corpus (Tests/Fixtures/bad-input/checkpoints): each
/// is refused with the error kind, tensor and message its manifest gives, naming the file.
final class BadInputCorpusTests: XCTestCase {
    /// Zip and pickle damage: truncation, zero bytes, garbage, a flipped storage byte (CRC-32),
    /// absurd storage sizes and views, hostile pickles, an absurd ZIP64 size; and GGUF damage:
    /// truncation, absurd tensor count, string and array lengths, data beyond the end, tensor
    /// data out of directory order.
    func testBrokenCheckpointsAreRefused() throws {
        for item in try BadCheckpoint.corpus(loader: "checkpoint") { item.check(loadCheckpoint) }
    }

    /// Truncation, an absurd header length, offsets beyond the data or overlapping, a dtype
    /// that does not match the byte span, an unsupported dtype, a shape whose size overflows.
    func testBrokenSafetensorsAreRefused() throws {
        for item in try BadCheckpoint.corpus(loader: "safetensors") { item.check(loadSafetensors) }
    }
}

import Checkpoints
import Foundation
import TestSupport
import XCTest

final class SHA256Tests: XCTestCase {
    /// FIPS 180-4 / NIST example vectors.
    func testKnownVectors() {
        XCTAssertEqual(sha256Hex(of: [UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(sha256Hex(of: Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(sha256Hex(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(sha256Hex(of: Array(("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn" +
                                            "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").utf8)),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        XCTAssertEqual(sha256Hex(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Feeding the million 'a' in uneven pieces crosses every block-boundary case.
    func testStreamingInUnevenPieces() {
        var hasher = SHA256Hasher()
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 131)
        var remaining = 1_000_000
        var size = 1
        while remaining > 0 {
            let count = min(size, remaining, piece.count)
            hasher.update(piece.prefix(count))
            remaining -= count
            size = size % 131 + 7
        }
        XCTAssertEqual(hasher.hexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// The digests the parity READMEs publish for their weight files.
    func testParityWeightFiles() throws {
        let files = [
            ("parity/sam-small/weights.pth", "90a767134db148ebb14c876effe9e5bda519c16949555d3209073dd07af9e97a"),
            ("parity/efficientsam-vitt/weights.pt", "21487533a61b79cdbac302631c202862c3583398f03caeea5c35d8dc1582ff49"),
        ]
        for (relative, digest) in files {
            guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
            let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            let start = Date()
            XCTAssertEqual(try sha256Hex(ofFile: path), digest, relative)
            let seconds = Date().timeIntervalSince(start)
            print("sha256 of \(relative): \(String(format: "%.0f", Double(size) / seconds / 1e6)) MB/s")
        }
    }

    func testMissingFileNamesIt() {
        XCTAssertThrowsError(try sha256Hex(ofFile: "/nonexistent/weights.pth")) { error in
            XCTAssertEqual(String(describing: error).hasPrefix("/nonexistent/weights.pth: cannot open"), true, "\(error)")
        }
    }
}

import BatchDriver
import Foundation
import XCTest

/// How a batch names its photos' folders and export names. The hashes are the first 8 hex digits
/// of `printf '%s' <relative path> | sha256sum`.
final class BatchPhotoTests: XCTestCase {
    func folders(_ paths: [String]) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try BatchPhoto.batch(paths).map { ($0.path, $0.folder) })
    }

    func testAPhotoWhoseStemIsItsOwnKeepsIt() throws {
        let photos = try BatchPhoto.batch(["/p/dog.jpg", "/p/truck.jpg", "/p/groceries.PNG"])
        XCTAssertEqual(photos.map(\.folder), ["dog", "truck", "groceries"])
        XCTAssertEqual(photos.map(\.name), ["dog.jpg", "truck.jpg", "groceries.PNG"])
    }

    func testPhotosOfOneNameInTwoFoldersGetTheHashOfTheirRelativePath() throws {
        let photos = try BatchPhoto.batch(["/data/a/truck.jpg", "/data/b/truck.jpg", "/data/a/dog.jpg"])
        XCTAssertEqual(photos.map(\.folder), ["truck-5008b0ab", "truck-08d8fa92", "dog"])
        // The exports tell the two apart by their relative paths; the dog keeps its file name.
        XCTAssertEqual(photos.map(\.name), ["a/truck.jpg", "b/truck.jpg", "dog.jpg"])
    }

    func testTheNamesDependNeitherOnTheOrderNorOnHowThePathsAreWritten() throws {
        let cwd = FileManager.default.currentDirectoryPath
        let forward = try folders(["/data/a/truck.jpg", "/data/b/truck.jpg", "/data/c/x.png"])
        let backward = try folders(["/data/c/x.png", "/data/b/truck.jpg", "/data/a/truck.jpg"])
        XCTAssertEqual(forward, backward)
        // Relative and absolute spellings of one batch name its folders alike.
        let relative = try BatchPhoto.batch(["a/truck.jpg", "b/./truck.jpg"]).map(\.folder)
        let absolute = try BatchPhoto.batch([cwd + "/a/truck.jpg", cwd + "/b/truck.jpg"]).map(\.folder)
        XCTAssertEqual(relative, ["truck-5008b0ab", "truck-08d8fa92"])
        XCTAssertEqual(relative, absolute)
    }

    func testStemsThatDifferOnlyInCaseOrExtensionAreHashedApart() throws {
        XCTAssertEqual(try BatchPhoto.batch(["/p/Truck.jpg", "/p/truck.JPG"]).map(\.folder), ["Truck-e47d4743", "truck-fdd67c9c"])
        let photos = try BatchPhoto.batch(["/p/truck.jpg", "/p/truck.png"])
        XCTAssertEqual(photos.map(\.folder), ["truck-da1e8e76", "truck-5ddd91ea"])
        XCTAssertEqual(photos.map(\.name), ["truck.jpg", "truck.png"], "distinct file names stay as they are")
    }

    func testAFileListedTwiceIsRefused() {
        XCTAssertThrowsError(try BatchPhoto.batch(["/p/truck.jpg", "/p/x/../truck.jpg"])) { error in
            XCTAssertEqual("\(error)", "/p/x/../truck.jpg: is in the batch twice (also as /p/truck.jpg)")
        }
    }

    func testAHashedFolderThatEqualsAnotherPhotosFolderIsRefused() {
        // x/truck.jpg's folder would be truck-f8427bc2, the stem of the third photo.
        XCTAssertThrowsError(try BatchPhoto.batch(["/d/x/truck.jpg", "/d/y/truck.jpg", "/d/TRUCK-f8427bc2.png"])) { error in
            XCTAssertTrue("\(error)".hasPrefix("/d/TRUCK-f8427bc2.png: its output folder TRUCK-f8427bc2 would be /d/x/truck.jpg's too"),
                          "\(error)")
        }
    }
}

import COCOFormat
import Foundation
import Pipeline

/// A COCO instances file's categories (teacher-forced as the object names) and image ids (so
/// `detections.json` refers to the same images).
public struct Categories: Sendable {
    public let map: COCOCategoryMap
    public let imageIDs: [String: Int]
    public var names: [String] { map.categories.map(\.name) }

    public init(instancesJSON path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw StageError(path, "cannot read the file") }
        map = COCOCategoryMap(try COCOCategory.parse(json: data))
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw StageError(path, "is not a JSON object")
        }
        var ids: [String: Int] = [:]
        for image in root["images"] as? [[String: Any]] ?? [] {
            if let name = image["file_name"] as? String, let id = image["id"] as? Int { ids[name] = id }
        }
        imageIDs = ids
    }
}

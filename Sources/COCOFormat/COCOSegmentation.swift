/// A COCO `segmentation` field: polygons (one object may have several parts), or a run-length
/// mask (compressed or uncompressed RLE, both parsed into counts).
public enum COCOSegmentation: Sendable, Hashable {
    case polygons([[Double]])
    case runLengths(RunLengthMask)

    /// The mask pycocotools' `COCO.annToRLE` makes of it in a `height × width` image: each polygon
    /// rasterised (`frPyObjects`) and the parts united (`merge`); a run-length mask as it is, with
    /// its own size. pycocotools takes a list whose first polygon has 4 or fewer coordinates for
    /// boxes and fails, and fails on an empty list; so does this, with an error.
    public func mask(imageHeight height: Int, imageWidth width: Int) throws -> RunLengthMask {
        switch self {
        case let .runLengths(mask):
            return mask
        case let .polygons(polygons):
            guard let first = polygons.first else { throw RunLengthError.noPolygons }
            guard first.count > 4 else { throw RunLengthError.shortFirstPolygon(coordinates: first.count) }
            let parts = try polygons.map { try RunLengthMask(polygon: $0, height: height, width: width) }
            // Every part has the image's size, so the union exists.
            return RunLengthMask.union(parts)!
        }
    }
}

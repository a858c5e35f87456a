import Foundation
import Geometry
import TestSupport
import VLSAMMethod
import XCTest

/// Point sampling on maps made from real object shapes: two ground-truth masks of a COCO photo
/// (../shared/data/coco-dev), rasterised and blurred, the larger one weaker (0.8) than the smaller
/// (1.0). vl-sam must put its positive in the larger object (the largest area, not the strongest)
/// and its negative in the smaller; local-maxima must take the smaller object's maxima first.
final class COCOMaskMapTests: XCTestCase {
    private static let annotations = "data/coco-dev/instances.json"
    private static let radius = 3

    func testPointsFallInsideTheRightObjects() throws {
        guard let path = sharedPath(Self.annotations) else { throw XCTSkip(missingShared(Self.annotations)) }
        let pairs = try Self.objectPairs(path, limit: 3)
        XCTAssertEqual(pairs.count, 3, "COCO photos with two suitable objects")
        for pair in pairs {
            let (big, small, what) = (pair.big, pair.small, "image \(pair.image)")
            let side = 2 * Self.radius + 1
            let bigDensity = boxSums(big, height: pair.height, width: pair.width)
            let smallDensity = boxSums(small, height: pair.height, width: pair.width)
            let raw = zip(bigDensity, smallDensity).map { 0.8 * Float($0) / Float(side * side) + Float($1) / Float(side * side) }
            let top = raw.max()!
            let map = AttentionMap(height: pair.height, width: pair.width, values: raw.map { $0 / top })
            func inside(_ mask: [Bool], _ point: PixelPoint) -> Bool { mask[Int(point.y) * pair.width + Int(point.x)] }

            let points = PointSampler().sample(map)
            XCTAssertEqual(points.positives.count, 1, what)
            XCTAssertEqual(points.negatives.count, 1, what)
            for point in points.positives { XCTAssertTrue(inside(big, point), "\(what): positive \(point) outside the larger object") }
            for point in points.negatives { XCTAssertTrue(inside(small, point), "\(what): negative \(point) outside the smaller object") }

            // Enough positives to reach the weaker object: the stronger one may hold several
            // plateaus of 1.0 further apart than the distance rule.
            let extrema = PointSampler(strategy: .localMaxima, count: 20).sample(map)
            let owners = extrema.positives.map { inside(small, $0) ? "small" : inside(big, $0) ? "big" : "neither" }
            let firstBig = try XCTUnwrap(owners.firstIndex(of: "big"), "\(what): no local maximum in the larger object")
            XCTAssertGreaterThan(firstBig, 0, what)
            XCTAssertEqual(Set(owners[..<firstBig]), ["small"], "\(what): the stronger object's maxima come first")
            for point in extrema.negatives { XCTAssertLessThan(map[Int(point.y), Int(point.x)], 0.5, what) }
        }
    }

    /// Each pixel's count of set pixels in the (2r + 1)² box around it (clipped), by summed areas.
    private func boxSums(_ mask: [Bool], height: Int, width: Int) -> [Int] {
        var summed = [Int](repeating: 0, count: (height + 1) * (width + 1))
        for y in 0..<height {
            for x in 0..<width {
                summed[(y + 1) * (width + 1) + x + 1] = (mask[y * width + x] ? 1 : 0) + summed[y * (width + 1) + x + 1]
                    + summed[(y + 1) * (width + 1) + x] - summed[y * (width + 1) + x]
            }
        }
        let r = Self.radius
        return (0..<height * width).map { i in
            let (y, x) = (i / width, i % width)
            let (y0, y1, x0, x1) = (max(y - r, 0), min(y + r + 1, height), max(x - r, 0), min(x + r + 1, width))
            return summed[y1 * (width + 1) + x1] - summed[y0 * (width + 1) + x1] - summed[y1 * (width + 1) + x0] + summed[y0 * (width + 1) + x0]
        }
    }

    private struct ObjectPair {
        let image: Int, height: Int, width: Int
        let big: [Bool], small: [Bool]
    }

    /// The first `limit` photos (in file order) with two non-crowd polygon objects, the larger at
    /// least twice the smaller's area, each holding a whole blur box, and their boxes far enough
    /// apart that the blurred shapes cannot touch.
    private static func objectPairs(_ path: String, limit: Int) throws -> [ObjectPair] {
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let images = try XCTUnwrap(json["images"] as? [[String: Any]])
        let annotations = try XCTUnwrap(json["annotations"] as? [[String: Any]])
        var pairs: [ObjectPair] = []
        for image in images where pairs.count < limit {
            guard let id = image["id"] as? Int, let height = image["height"] as? Int, let width = image["width"] as? Int else { continue }
            let objects = annotations.filter { ($0["image_id"] as? Int) == id && ($0["iscrowd"] as? Int) == 0 }
                .compactMap { annotation -> (area: Int, box: [Double], mask: [Bool])? in
                    guard let polygons = annotation["segmentation"] as? [[Double]], let box = annotation["bbox"] as? [Double] else { return nil }
                    let mask = rasterise(polygons, height: height, width: width)
                    return (mask.filter { $0 }.count, box, mask)
                }
                .sorted { $0.area > $1.area }
            let gap = Double(2 * radius + 2)
            search: for big in objects where holdsBox(big.mask, height: height, width: width) {
                for small in objects where small.area * 2 <= big.area && holdsBox(small.mask, height: height, width: width) {
                    let (a, b) = (big.box, small.box)
                    let apart = a[0] + a[2] + gap < b[0] || b[0] + b[2] + gap < a[0] || a[1] + a[3] + gap < b[1] || b[1] + b[3] + gap < a[1]
                    if apart {
                        pairs.append(ObjectPair(image: id, height: height, width: width, big: big.mask, small: small.mask))
                        break search
                    }
                }
            }
        }
        return pairs
    }

    /// Whether some (2r + 1)² box lies wholly inside the mask (a row-run check per box row).
    private static func holdsBox(_ mask: [Bool], height: Int, width: Int) -> Bool {
        let side = 2 * radius + 1
        guard height >= side, width >= side else { return false }
        // Run lengths of set pixels ending at each pixel, horizontally, then vertically over those ≥ side.
        var across = [Int](repeating: 0, count: mask.count)
        for i in mask.indices where mask[i] { across[i] = (i % width > 0 ? across[i - 1] : 0) + 1 }
        var down = [Int](repeating: 0, count: width)
        for y in 0..<height {
            for x in 0..<width {
                down[x] = across[y * width + x] >= side ? down[x] + 1 : 0
                if down[x] >= side { return true }
            }
        }
        return false
    }

    /// Even-odd fill of polygons (x, y, x, y, …) at pixel centres; several polygons are united.
    private static func rasterise(_ polygons: [[Double]], height: Int, width: Int) -> [Bool] {
        var mask = [Bool](repeating: false, count: height * width)
        for polygon in polygons where polygon.count >= 6 {
            let points = stride(from: 0, to: polygon.count - 1, by: 2).map { (x: polygon[$0], y: polygon[$0 + 1]) }
            for y in 0..<height {
                let centre = Double(y) + 0.5
                var crossings: [Double] = []
                for (i, p) in points.enumerated() {
                    let q = points[(i + 1) % points.count]
                    if (p.y <= centre) != (q.y <= centre) { crossings.append(p.x + (centre - p.y) / (q.y - p.y) * (q.x - p.x)) }
                }
                crossings.sort()
                for pair in stride(from: 0, to: crossings.count - 1, by: 2) {
                    // Pixels whose centre x + 0.5 lies in [left, right).
                    let first = max(Int((crossings[pair] - 0.5).rounded(.up)), 0)
                    let last = min(Int((crossings[pair + 1] - 0.5).rounded(.up)), width)
                    if first < last { for x in first..<last { mask[y * width + x] = true } }
                }
            }
        }
        return mask
    }
}

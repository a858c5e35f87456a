import Artifacts
import Geometry
import Imaging
import SAMModels
import TensorMath
import TestSupport
import XCTest

/// Opens a parity bundle's file or skips the test when ../shared is absent.
func bundleFile(_ relative: String) throws -> String {
    guard let path = sharedPath(relative) else { throw XCTSkip(missingShared(relative)) }
    return path
}

extension HDF5File {
    func readImage(_ dataset: String) throws -> RGBImage {
        let (shape, values) = try readUInt8(dataset)
        return RGBImage(width: shape[1], height: shape[0], pixels: values)
    }

    func points(_ dataset: String) throws -> [PixelPoint] {
        let t = try readTensor(dataset)
        return (0..<(t.count / 2)).map { PixelPoint(x: t.data[2 * $0], y: t.data[2 * $0 + 1]) }
    }
}

/// A parity bundle's model, reference file and the encoder run on the bundle's photo, computed
/// once per bundle for all tests.
struct EncodedBundle {
    let model: SegmentAnythingModel
    let reference: HDF5File
    let trace: [String: Tensor]
    let embedding: Tensor
    let geometry: ImageGeometry

    nonisolated(unsafe) private static var cache: [String: EncodedBundle] = [:]

    /// Every bundle's photo is efficientsam-vitt's `image/rgb_u8` (sam-small stores none of its
    /// own; its README says the two are byte-identical).
    static func load(_ bundle: String, checkpoint: String) throws -> EncodedBundle {
        if let cached = cache[bundle] { return cached }
        let model = try SegmentAnythingModel(checkpoint: try bundleFile("parity/\(bundle)/\(checkpoint)"))
        let reference = try HDF5File(readingAt: try bundleFile("parity/\(bundle)/parity.h5"))
        let photo = try HDF5File(readingAt: try bundleFile("parity/efficientsam-vitt/parity.h5")).readImage("image/rgb_u8")
        var trace: [String: Tensor] = [:]
        let (embedding, geometry) = model.encode(photo) { trace[$0] = $1 }
        let encoded = EncodedBundle(model: model, reference: reference, trace: trace, embedding: embedding, geometry: geometry)
        cache[bundle] = encoded
        return encoded
    }
}

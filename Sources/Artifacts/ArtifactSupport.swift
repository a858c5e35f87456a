import Geometry
import TensorMath

/// Shared reading and writing steps of the artifact schemas.
extension HDF5File {
    /// Writes the `description` (and `layout`, for spatial axes) attributes that make `h5dump -H` self-describing.
    func describe(_ dataset: String, _ description: String, layout: String? = nil) throws {
        try setAttribute("description", description, at: dataset)
        if let layout { try setAttribute("layout", layout, at: dataset) }
    }

    func requiredAttribute<T>(_ name: String, _ read: (String, String) throws -> T?) throws -> T {
        guard let value = try read(name, "/") else {
            throw failure(.missingObject, "missing root attribute \"\(name)\"")
        }
        return value
    }

    func requiredString(_ name: String) throws -> String { try requiredAttribute(name, attributeString) }
    func requiredInt(_ name: String) throws -> Int { try requiredAttribute(name, attributeInt) }
    func requiredDouble(_ name: String) throws -> Double { try requiredAttribute(name, attributeDouble) }
    func requiredDoubles(_ name: String) throws -> [Double] { try requiredAttribute(name, attributeDoubles) }

    /// A root attribute holding one of `allowed` strings.
    func requiredChoice(_ name: String, among allowed: [String]) throws -> String {
        let value = try requiredString(name)
        guard allowed.contains(value) else {
            throw failure(.invalidValue, "root attribute \"\(name)\" is \"\(value)\", expected one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        return value
    }

    /// A root attribute [height, width] with both positive.
    func requiredSize(_ name: String) throws -> ImageSize {
        let values = try requiredAttribute(name, attributeInts)
        guard values.count == 2, values.allSatisfy({ $0 > 0 }) else {
            throw failure(.invalidValue, "root attribute \"\(name)\" is \(values), expected [height, width] with both positive")
        }
        return ImageSize(height: values[0], width: values[1])
    }

    func setSize(_ name: String, _ size: ImageSize) throws {
        try setAttribute(name, [size.height, size.width])
    }

    /// Checks a dataset's shape against named axes; nil sizes are free and are returned as found.
    /// The error shows both, e.g. `dataset "masks" has shape [3, 10, 10], expected [M, H=1200, W=1800]`.
    @discardableResult
    func requireShape(_ dataset: String, _ axes: [(name: String, size: Int?)]) throws -> [Int] {
        let shape = try shape(dataset)
        let matches = shape.count == axes.count && zip(shape, axes).allSatisfy { actual, axis in axis.size.map { $0 == actual } ?? true }
        guard matches else {
            let expected = axes.map { axis in axis.size.map { axis.name.isEmpty ? "\($0)" : "\(axis.name)=\($0)" } ?? axis.name }
            throw failure(.wrongShape, "dataset \"\(dataset)\" has shape \(shape), expected [\(expected.joined(separator: ", "))]")
        }
        return shape
    }

    func invalid(_ problem: String) -> ArtifactError { failure(.invalidValue, problem) }
}

/// Validation before writing reports against the destination path, like reading errors do.
func invalidArtifact(_ path: String, _ problem: String) -> ArtifactError {
    ArtifactError(.invalidValue, file: path, problem)
}

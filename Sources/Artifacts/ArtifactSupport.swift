import CHDF5
import Geometry
import TensorMath

/// What a schema says a dataset holds. Any width of that kind reads (integers convert exactly or
/// are refused); another kind is a wrong dtype.
enum StoredKind: String {
    case floats = "floating-point values"
    case integers = "integers"
    case strings = "strings"

    func accepts(_ storedClass: H5T_class_t) -> Bool {
        switch self {
        case .floats: return storedClass == H5T_FLOAT
        // numpy bools are stored as an enum over int8.
        case .integers: return storedClass == H5T_INTEGER || storedClass == H5T_ENUM
        case .strings: return storedClass == H5T_STRING
        }
    }
}

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

    /// A root attribute [height, width] with both positive and at most `ArtifactLimits.maxPixels` pixels.
    func requiredSize(_ name: String) throws -> ImageSize {
        let values = try requiredAttribute(name, attributeInts)
        guard values.count == 2, values.allSatisfy({ $0 > 0 }) else {
            throw failure(.invalidValue, "root attribute \"\(name)\" is \(values), expected [height, width] with both positive")
        }
        let (pixels, overflow) = values[0].multipliedReportingOverflow(by: values[1])
        let limit = ArtifactLimits.maxPixels
        guard !overflow, pixels <= limit else {
            throw failure(.exceedsLimit, "root attribute \"\(name)\" is \(values[0])x\(values[1]), " +
                          "\(overflow ? "more than \(Int.max)" : "\(pixels)") pixels, above the limit of \(limit) pixels (--max-pixels)")
        }
        return ImageSize(height: values[0], width: values[1])
    }

    func setSize(_ name: String, _ size: ImageSize) throws {
        try setAttribute(name, [size.height, size.width])
    }

    /// Checks a dataset's shape against named axes, and the kind of values it holds, before anything
    /// is read; nil sizes are free and are returned as found. The error shows both, e.g.
    /// `dataset "masks" has shape [3, 10, 10], expected [M, H=1200, W=1800]`.
    @discardableResult
    func requireShape(_ dataset: String, _ axes: [(name: String, size: Int?)], holding kind: StoredKind) throws -> [Int] {
        let shape = try shape(dataset)
        let matches = shape.count == axes.count && zip(shape, axes).allSatisfy { actual, axis in axis.size.map { $0 == actual } ?? true }
        guard matches else {
            let expected = axes.map { axis in axis.size.map { axis.name.isEmpty ? "\($0)" : "\(axis.name)=\($0)" } ?? axis.name }
            throw failure(.wrongShape, "dataset \"\(dataset)\" has shape \(shape), expected [\(expected.joined(separator: ", "))]")
        }
        let storedClass = try storedClass(of: dataset)
        guard kind.accepts(storedClass) else {
            throw failure(.wrongType, "dataset \"\(dataset)\" holds \(Self.className(storedClass)), expected \(kind.rawValue)")
        }
        return shape
    }

    /// A non-finite value among `values` of `dataset` (shape `shape`), as "dataset "x" holds nan at [i, j]", or nil.
    static func nonFiniteProblem<Values: Collection>(_ values: Values, shape: [Int], dataset: String) -> String?
    where Values.Element == Float, Values.Index == Int {
        guard let flat = values.firstIndex(where: { !$0.isFinite }) else { return nil }
        var index = [Int](repeating: 0, count: shape.count), rest = flat - values.startIndex
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return "dataset \"\(dataset)\" holds \(values[flat]) at \(index); its values must be finite"
    }

    func invalid(_ problem: String) -> ArtifactError { failure(.invalidValue, problem) }
}

/// Validation before writing reports against the destination path, like reading errors do.
func invalidArtifact(_ path: String, _ problem: String) -> ArtifactError {
    ArtifactError(.invalidValue, file: path, problem)
}

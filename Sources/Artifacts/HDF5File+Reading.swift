import CHDF5
import Foundation
import TensorMath

/// Where stored values come from: datasets and attributes are read the same way.
private enum StoredValues {
    case dataset(hid_t)
    case attribute(hid_t)

    func type() -> H5Handle {
        switch self {
        case .dataset(let id): return H5Handle(H5Dget_type(id))
        case .attribute(let id): return H5Handle(H5Aget_type(id))
        }
    }

    func space() -> H5Handle {
        switch self {
        case .dataset(let id): return H5Handle(H5Dget_space(id))
        case .attribute(let id): return H5Handle(H5Aget_space(id))
        }
    }

    func read(as memoryType: hid_t, into buffer: UnsafeMutableRawPointer) -> herr_t {
        switch self {
        case .dataset(let id):
            return H5Dread(id, memoryType, HDF5Library.defaultID, HDF5Library.defaultID, HDF5Library.defaultID, buffer)
        case .attribute(let id):
            return H5Aread(id, memoryType, buffer)
        }
    }
}

// MARK: - Datasets

extension HDF5File {
    /// Any integer or floating-point dataset, converted to float32. A scalar gives shape [].
    public func readTensor(_ dataset: String) throws -> Tensor {
        let (shape, values) = try readDataset(dataset, as: Float.self)
        return Tensor(shape: shape, data: values)
    }

    public func readUInt8(_ dataset: String) throws -> (shape: [Int], values: [UInt8]) {
        try readDataset(dataset, as: UInt8.self)
    }

    public func readInt32(_ dataset: String) throws -> (shape: [Int], values: [Int32]) {
        try readDataset(dataset, as: Int32.self)
    }

    public func readInt64(_ dataset: String) throws -> (shape: [Int], values: [Int64]) {
        try readDataset(dataset, as: Int64.self)
    }

    public func readDouble(_ dataset: String) throws -> (shape: [Int], values: [Double]) {
        try readDataset(dataset, as: Double.self)
    }

    /// A string dataset (variable- or fixed-length, any shape) flattened in row-major order.
    public func readStrings(_ dataset: String) throws -> [String] {
        let handle = try openObject(dataset, expecting: H5I_DATASET, kind: "dataset")
        return try readStrings(from: .dataset(handle.id), what: "dataset \"\(dataset)\"").values
    }

    /// A dataset holding exactly one string (h5py writes a Python str as a scalar dataset).
    public func readString(_ dataset: String) throws -> String {
        let handle = try openObject(dataset, expecting: H5I_DATASET, kind: "dataset")
        let what = "dataset \"\(dataset)\""
        return try single(readStrings(from: .dataset(handle.id), what: what), what: what)
    }

    /// The class of values (integer, float, string, …) a dataset stores.
    func storedClass(of dataset: String) throws -> H5T_class_t {
        let handle = try openObject(dataset, expecting: H5I_DATASET, kind: "dataset")
        let type = StoredValues.dataset(handle.id).type()
        return H5Tget_class(type.id)
    }

    private func readDataset<T: HDF5Number>(_ dataset: String, as: T.Type) throws -> (shape: [Int], values: [T]) {
        let handle = try openObject(dataset, expecting: H5I_DATASET, kind: "dataset")
        return try readNumbers(from: .dataset(handle.id), what: "dataset \"\(dataset)\"")
    }
}

// MARK: - Attributes

extension HDF5File {
    /// A string attribute (variable- or fixed-length); nil when the attribute is absent.
    public func attributeString(_ name: String, at objectPath: String = "/") throws -> String? {
        try withAttribute(name, at: objectPath) { source, what in try single(readStrings(from: source, what: what), what: what) }
    }

    /// An integer (or numpy bool) attribute holding one value; nil when absent.
    public func attributeInt(_ name: String, at objectPath: String = "/") throws -> Int? {
        try withAttribute(name, at: objectPath) { source, what in
            Int(try single(readNumbers(from: source, what: what) as ([Int], [Int64]), what: what))
        }
    }

    /// A numpy bool (or 0/1 integer) attribute; nil when absent.
    public func attributeBool(_ name: String, at objectPath: String = "/") throws -> Bool? {
        guard let value = try attributeInt(name, at: objectPath) else { return nil }
        guard value == 0 || value == 1 else {
            throw failure(.invalidValue, "attribute \"\(name)\" of \"\(objectPath)\" is \(value), expected a boolean (0 or 1)")
        }
        return value == 1
    }

    /// A numeric attribute holding one value, converted to Double; nil when absent.
    public func attributeDouble(_ name: String, at objectPath: String = "/") throws -> Double? {
        try withAttribute(name, at: objectPath) { source, what in
            try single(readNumbers(from: source, what: what) as ([Int], [Double]), what: what)
        }
    }

    /// An integer attribute of any shape, flattened (a scalar gives one element); nil when absent.
    public func attributeInts(_ name: String, at objectPath: String = "/") throws -> [Int]? {
        try withAttribute(name, at: objectPath) { source, what in
            (try readNumbers(from: source, what: what) as ([Int], [Int64])).1.map { Int($0) }
        }
    }

    /// A numeric attribute of any shape, converted to Double and flattened; nil when absent.
    public func attributeDoubles(_ name: String, at objectPath: String = "/") throws -> [Double]? {
        try withAttribute(name, at: objectPath) { source, what in
            (try readNumbers(from: source, what: what) as ([Int], [Double])).1
        }
    }

    public func hasAttribute(_ name: String, at objectPath: String = "/") throws -> Bool {
        try withAttribute(name, at: objectPath) { _, _ in true } ?? false
    }

    private func withAttribute<T>(_ name: String, at objectPath: String,
                                  _ body: (StoredValues, String) throws -> T) throws -> T? {
        try requireOpen()
        guard exists(objectPath) else {
            throw failure(.missingObject, "no object \"\(objectPath)\" (looking for its attribute \"\(name)\")")
        }
        let found = H5Aexists_by_name(fileID, objectPath, name, HDF5Library.defaultID)
        guard found >= 0 else { throw libraryFailure(.unreadable, "cannot look up attribute \"\(name)\" of \"\(objectPath)\"") }
        guard found > 0 else { return nil }
        let attribute = H5Handle(H5Aopen_by_name(fileID, objectPath, name, HDF5Library.defaultID, HDF5Library.defaultID))
        guard attribute.isValid else { throw libraryFailure(.unreadable, "cannot open attribute \"\(name)\" of \"\(objectPath)\"") }
        return try body(.attribute(attribute.id), "attribute \"\(name)\" of \"\(objectPath)\"")
    }
}

// MARK: - Decoding

extension HDF5File {
    private func single<T>(_ read: (shape: [Int], values: [T]), what: String) throws -> T {
        guard read.values.count == 1, let value = read.values.first else {
            throw failure(.wrongShape, "\(what) has shape \(read.shape) (\(read.values.count) values), expected a single value")
        }
        return value
    }

    /// Integer, float and enum (numpy bool) storage, converted to `T`. Out-of-range values are an error,
    /// never silently clamped; floating-point storage is refused for integer `T`.
    private func readNumbers<T: HDF5Number>(from source: StoredValues, what: String) throws -> (shape: [Int], values: [T]) {
        let space = source.space()
        let shape = try extent(of: space, what: what)
        let storedType = source.type()
        let storedClass = H5Tget_class(storedType.id)
        switch storedClass {
        case H5T_INTEGER, H5T_ENUM:
            break
        case H5T_FLOAT where T.isFloatingPoint:
            break
        case H5T_FLOAT:
            throw failure(.wrongType, "\(what) holds floating-point values, expected integers (\(T.typeName))")
        default:
            throw failure(.wrongType, "\(what) holds \(Self.className(storedClass)), expected numbers (\(T.typeName))")
        }
        let count = try allocationCount(shape, elementSize: max(H5Tget_size(storedType.id), MemoryLayout<T>.stride), what: what)
        guard count > 0 else { return (shape, []) }

        let nativeType = H5Handle(H5Tget_native_type(storedType.id, H5T_DIR_ASCEND))
        if storedClass != H5T_ENUM, H5Tequal(nativeType.id, T.memoryType) > 0 {
            let values = try [T](unsafeUninitializedCapacity: count) { buffer, initialised in
                guard source.read(as: T.memoryType, into: buffer.baseAddress!) >= 0 else {
                    throw libraryFailure(.unreadable, "cannot read \(what)")
                }
                initialised = count
            }
            return (shape, values)
        }
        // Read in the stored representation, then convert in place with overflow checking.
        // HDF5 has no enum→integer conversion, so enums convert from their integer base type.
        let sourceType = storedClass == H5T_ENUM ? H5Handle(H5Tget_super(nativeType.id)) : H5Handle(H5Tcopy(nativeType.id))
        let elementSize = max(H5Tget_size(nativeType.id), MemoryLayout<T>.stride)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: elementSize * count, alignment: 16)
        defer { buffer.deallocate() }
        guard source.read(as: nativeType.id, into: buffer) >= 0 else { throw libraryFailure(.unreadable, "cannot read \(what)") }
        let conversion = HDF5Library.strictConversionList()
        guard H5Tconvert(sourceType.id, T.memoryType, count, buffer, nil, conversion.id) >= 0 else {
            throw failure(.wrongType, "\(what) holds values outside the range of \(T.typeName)")
        }
        let converted = buffer.bindMemory(to: T.self, capacity: count)
        return (shape, Array(UnsafeBufferPointer(start: converted, count: count)))
    }

    private func readStrings(from source: StoredValues, what: String) throws -> (shape: [Int], values: [String]) {
        let space = source.space()
        let shape = try extent(of: space, what: what)
        let storedType = source.type()
        let storedClass = H5Tget_class(storedType.id)
        guard storedClass == H5T_STRING else {
            throw failure(.wrongType, "\(what) holds \(Self.className(storedClass)), expected strings")
        }
        let variableLength = H5Tis_variable_str(storedType.id) > 0
        let elementSize = variableLength ? MemoryLayout<UnsafeMutablePointer<CChar>?>.stride : H5Tget_size(storedType.id)
        let count = try allocationCount(shape, elementSize: elementSize, what: what)
        guard count > 0 else { return (shape, []) }

        if variableLength {
            let memoryType = H5Handle(H5Tcopy(H5T_C_S1_g))
            H5Tset_size(memoryType.id, -1)  // H5T_VARIABLE
            H5Tset_cset(memoryType.id, H5Tget_cset(storedType.id))
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard source.read(as: memoryType.id, into: &pointers) >= 0 else { throw libraryFailure(.unreadable, "cannot read \(what)") }
            defer { H5Dvlen_reclaim(memoryType.id, space.id, HDF5Library.defaultID, &pointers) }
            return (shape, pointers.map { $0.map { String(cString: $0) } ?? "" })
        }

        let width = H5Tget_size(storedType.id)
        let memoryType = H5Handle(H5Tcopy(storedType.id))
        var bytes = [UInt8](repeating: 0, count: width * count)
        guard source.read(as: memoryType.id, into: &bytes) >= 0 else { throw libraryFailure(.unreadable, "cannot read \(what)") }
        let spacePadded = H5Tget_strpad(storedType.id) == H5T_STR_SPACEPAD
        let values = (0..<count).map { index -> String in
            var element = bytes[index * width ..< (index + 1) * width]
            if let end = element.firstIndex(of: 0) { element = element[..<end] }
            if spacePadded { while element.last == UInt8(ascii: " ") { element = element.dropLast() } }
            return String(decoding: element, as: UTF8.self)
        }
        return (shape, values)
    }

    static func className(_ typeClass: H5T_class_t) -> String {
        switch typeClass {
        case H5T_INTEGER: return "integers"
        case H5T_FLOAT: return "floating-point values"
        case H5T_STRING: return "strings"
        case H5T_COMPOUND: return "compound records"
        case H5T_ENUM: return "enumerated values"
        case H5T_ARRAY: return "array-typed values"
        case H5T_VLEN: return "variable-length sequences"
        case H5T_OPAQUE: return "opaque bytes"
        case H5T_REFERENCE: return "object references"
        default: return "values of an unsupported type"
        }
    }
}

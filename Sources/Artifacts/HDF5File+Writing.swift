import CHDF5
import Foundation
import TensorMath

/// How a dataset is laid out on disk.
public enum DatasetCompression: Sendable, Equatable {
    /// Contiguous storage (or chunked without filters when chunks are given).
    case none
    /// Byte shuffle + deflate at `level` (1 fastest … 9 smallest); chunked storage.
    case gzip(level: Int)
}

extension HDF5File {
    // MARK: - Datasets

    /// Writes a float32 dataset with the tensor's shape. `chunks` nil chooses a chunk shape
    /// automatically when compressing (one trailing 2-D plane per chunk, capped at 4 MiB).
    public func write(_ tensor: Tensor, to dataset: String,
                      compression: DatasetCompression = .none, chunks: [Int]? = nil) throws {
        try writeNumbers(tensor.data, shape: tensor.shape, to: dataset, compression: compression, chunks: chunks)
    }

    public func write(_ values: [Float], shape: [Int], to dataset: String,
                      compression: DatasetCompression = .none, chunks: [Int]? = nil) throws {
        try writeNumbers(values, shape: shape, to: dataset, compression: compression, chunks: chunks)
    }

    public func write(_ values: [Double], shape: [Int], to dataset: String,
                      compression: DatasetCompression = .none, chunks: [Int]? = nil) throws {
        try writeNumbers(values, shape: shape, to: dataset, compression: compression, chunks: chunks)
    }

    public func write(_ values: [UInt8], shape: [Int], to dataset: String,
                      compression: DatasetCompression = .none, chunks: [Int]? = nil) throws {
        try writeNumbers(values, shape: shape, to: dataset, compression: compression, chunks: chunks)
    }

    public func write(_ values: [Int32], shape: [Int], to dataset: String,
                      compression: DatasetCompression = .none, chunks: [Int]? = nil) throws {
        try writeNumbers(values, shape: shape, to: dataset, compression: compression, chunks: chunks)
    }

    public func write(_ values: [Int64], shape: [Int], to dataset: String,
                      compression: DatasetCompression = .none, chunks: [Int]? = nil) throws {
        try writeNumbers(values, shape: shape, to: dataset, compression: compression, chunks: chunks)
    }

    /// A 1-D dataset of variable-length UTF-8 strings (h5py reads them as `str` with `.asstr()`).
    public func write(_ strings: [String], to dataset: String) throws {
        let memoryType = Self.utf8StringType()
        // One buffer with NUL-separated strings and pointers into it: no allocation per string.
        var bytes = [CChar]()
        bytes.reserveCapacity(strings.reduce(0) { $0 + $1.utf8.count + 1 })
        var offsets = [Int]()
        offsets.reserveCapacity(strings.count)
        for string in strings {
            offsets.append(bytes.count)
            bytes.append(contentsOf: string.utf8.map { CChar(bitPattern: $0) })
            bytes.append(0)
        }
        try bytes.withUnsafeBufferPointer { storage in
            let pointers = offsets.map { Optional(storage.baseAddress! + $0) }
            try createAndWrite(dataset, shape: [strings.count], storedType: memoryType.id, memoryType: memoryType.id,
                               compression: .none, chunks: nil, data: pointers)
        }
    }

    /// Creates a group and any missing parents; succeeds when it already exists.
    public func createGroup(_ group: String) throws {
        try requireWritable()
        guard !exists(group) else { return }
        let linkList = Self.intermediateGroupsList()
        let handle = H5Handle(H5Gcreate2(fileID, group, linkList.id, HDF5Library.defaultID, HDF5Library.defaultID))
        guard handle.isValid else { throw libraryFailure(.writeFailed, "cannot create group \"\(group)\"") }
    }

    // MARK: - Attributes (replacing any attribute of the same name)

    /// A variable-length UTF-8 string attribute (h5py reads it as `str`).
    public func setAttribute(_ name: String, _ value: String, at objectPath: String = "/") throws {
        let type = Self.utf8StringType()
        try value.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            try writeAttribute(name, at: objectPath, shape: nil, storedType: type.id, memoryType: type.id, data: &pointer)
        }
    }

    /// A scalar int64 attribute.
    public func setAttribute(_ name: String, _ value: Int, at objectPath: String = "/") throws {
        var stored = Int64(value)
        try writeAttribute(name, at: objectPath, shape: nil, storedType: Int64.storedType, memoryType: Int64.memoryType, data: &stored)
    }

    /// A scalar float64 attribute.
    public func setAttribute(_ name: String, _ value: Double, at objectPath: String = "/") throws {
        var stored = value
        try writeAttribute(name, at: objectPath, shape: nil, storedType: Double.storedType, memoryType: Double.memoryType, data: &stored)
    }

    /// A 1-D int64 attribute.
    public func setAttribute(_ name: String, _ values: [Int], at objectPath: String = "/") throws {
        var stored = values.map { Int64($0) }
        try writeAttribute(name, at: objectPath, shape: [values.count], storedType: Int64.storedType,
                           memoryType: Int64.memoryType, data: &stored)
    }

    /// A 1-D float64 attribute.
    public func setAttribute(_ name: String, _ values: [Double], at objectPath: String = "/") throws {
        var stored = values
        try writeAttribute(name, at: objectPath, shape: [values.count], storedType: Double.storedType,
                           memoryType: Double.memoryType, data: &stored)
    }

    // MARK: - Internals

    private func requireWritable() throws {
        try requireOpen()
        guard temporaryPath != nil else { throw failure(.writeFailed, "the file is open for reading only") }
    }

    private func writeNumbers<T: HDF5Number>(_ values: [T], shape: [Int], to dataset: String,
                                             compression: DatasetCompression, chunks: [Int]?) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw failure(.writeFailed, "dataset \"\(dataset)\": shape \(shape) does not match \(values.count) values")
        }
        try values.withUnsafeBytes { data in
            try createAndWrite(dataset, shape: shape, storedType: T.storedType, memoryType: T.memoryType,
                               compression: compression, chunks: chunks, data: data.baseAddress)
        }
    }

    private func createAndWrite(_ dataset: String, shape: [Int], storedType: hid_t, memoryType: hid_t,
                                compression: DatasetCompression, chunks: [Int]?,
                                data: UnsafeRawPointer?) throws {
        try requireWritable()
        guard !exists(dataset) else { throw failure(.writeFailed, "dataset \"\(dataset)\" already exists") }
        let space = try dataspace(shape, what: "dataset \"\(dataset)\"")
        let creation = try creationList(shape: shape, compression: compression, chunks: chunks, dataset: dataset, elementType: storedType)
        let linkList = Self.intermediateGroupsList()
        let handle = H5Handle(H5Dcreate2(fileID, dataset, storedType, space.id, linkList.id, creation.id, HDF5Library.defaultID))
        guard handle.isValid else { throw libraryFailure(.writeFailed, "cannot create dataset \"\(dataset)\"") }
        let written = shape.reduce(1, *) == 0
            || H5Dwrite(handle.id, memoryType, HDF5Library.defaultID, HDF5Library.defaultID, HDF5Library.defaultID, data) >= 0
        // Closing stores the cached chunks, so it can fail too.
        let closed = handle.close() >= 0
        guard written, closed else { throw libraryFailure(.writeFailed, "cannot write dataset \"\(dataset)\"") }
    }

    private func writeAttribute(_ name: String, at objectPath: String, shape: [Int]?, storedType: hid_t, memoryType: hid_t,
                                data: UnsafeRawPointer) throws {
        try requireWritable()
        guard exists(objectPath) else {
            throw failure(.missingObject, "no object \"\(objectPath)\" to attach attribute \"\(name)\" to")
        }
        let what = "attribute \"\(name)\" of \"\(objectPath)\""
        if H5Aexists_by_name(fileID, objectPath, name, HDF5Library.defaultID) > 0 {
            guard H5Adelete_by_name(fileID, objectPath, name, HDF5Library.defaultID) >= 0 else {
                throw libraryFailure(.writeFailed, "cannot replace \(what)")
            }
        }
        let space = try shape.map { try dataspace($0, what: what) } ?? H5Handle(H5Screate(H5S_SCALAR))
        let attribute = H5Handle(H5Acreate_by_name(fileID, objectPath, name, storedType, space.id,
                                                   HDF5Library.defaultID, HDF5Library.defaultID, HDF5Library.defaultID))
        let written = attribute.isValid && H5Awrite(attribute.id, memoryType, data) >= 0
        let closed = attribute.close() >= 0
        guard written, closed else { throw libraryFailure(.writeFailed, "cannot write \(what)") }
    }

    private func dataspace(_ shape: [Int], what: String) throws -> H5Handle {
        let dims = shape.map { hsize_t($0) }
        let space = H5Handle(shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(dims.count), dims, nil))
        guard space.isValid else { throw libraryFailure(.writeFailed, "cannot describe shape \(shape) of \(what)") }
        return space
    }

    /// Dataset creation properties: chunking and filters. Empty and scalar datasets cannot be chunked,
    /// so they are stored contiguously whatever was asked.
    private func creationList(shape: [Int], compression: DatasetCompression, chunks: [Int]?,
                              dataset: String, elementType: hid_t) throws -> H5Handle {
        let list = H5Handle(H5Pcreate(H5P_CLS_DATASET_CREATE_ID_g))
        let chunkable = !shape.isEmpty && !shape.contains(0)
        if case .gzip(let level) = compression, !(1...9).contains(level) {
            throw failure(.writeFailed, "dataset \"\(dataset)\": gzip level \(level) is outside 1...9")
        }
        guard chunkable, chunks != nil || compression != .none else { return list }
        let chunkShape = try chunks ?? Self.automaticChunks(shape: shape, elementSize: H5Tget_size(elementType))
        guard chunkShape.count == shape.count, zip(chunkShape, shape).allSatisfy({ (1...$1).contains($0) }) else {
            throw failure(.writeFailed, "dataset \"\(dataset)\": chunk shape \(chunkShape) does not fit shape \(shape)")
        }
        H5Pset_chunk(list.id, Int32(chunkShape.count), chunkShape.map { hsize_t($0) })
        if case .gzip(let level) = compression {
            H5Pset_shuffle(list.id)
            H5Pset_deflate(list.id, UInt32(level))
        }
        return list
    }

    /// One plane of the two trailing axes per chunk (one mask, one channel), halving rows until ≤ 4 MiB.
    private static func automaticChunks(shape: [Int], elementSize: Int) throws -> [Int] {
        var chunks = shape.enumerated().map { axis, size in axis >= shape.count - 2 ? size : 1 }
        let limit = 4 << 20
        while chunks.reduce(elementSize, *) > limit, let rowAxis = chunks.indices.first(where: { chunks[$0] > 1 }) {
            chunks[rowAxis] = (chunks[rowAxis] + 1) / 2
        }
        return chunks
    }

    private static func utf8StringType() -> H5Handle {
        let type = H5Handle(H5Tcopy(H5T_C_S1_g))
        H5Tset_size(type.id, -1)  // H5T_VARIABLE
        H5Tset_cset(type.id, H5T_CSET_UTF8)
        return type
    }

    private static func intermediateGroupsList() -> H5Handle {
        let list = H5Handle(H5Pcreate(H5P_CLS_LINK_CREATE_ID_g))
        H5Pset_create_intermediate_group(list.id, 1)
        return list
    }
}

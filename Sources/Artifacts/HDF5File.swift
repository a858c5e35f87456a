import CHDF5
import Foundation

/// One HDF5 file, opened for reading or being written.
///
/// A file created with `init(creatingAt:)` is written to a hidden temporary sibling and only
/// appears at its final path when `commit()` succeeds; an uncommitted writer removes its temporary
/// file when released, so readers never see a half-written artifact.
///
/// Paths of datasets and groups are relative to the root ("cases/case1/masks"); a leading "/" is allowed.
/// Not safe for concurrent use from several threads (the HDF5 library itself is).
public final class HDF5File {
    /// The path errors name: the file being read, or the final path of the file being written.
    public let path: String
    /// Set while writing: where the data goes until `commit()`.
    let temporaryPath: String?
    private(set) var fileID: hid_t
    private var committed = false

    /// Opens an existing file read-only.
    public init(readingAt path: String) throws {
        HDF5Library.prepare()
        self.path = path
        self.temporaryPath = nil
        try Self.checkIsHDF5(path)
        let access = Self.accessList()
        fileID = H5Fopen(path, HDF5Library.readOnly, access.id)
        guard fileID >= 0 else {
            throw ArtifactError(.unreadable, file: path,
                                "HDF5 cannot open the file (\(HDF5Library.lastErrorDetail() ?? "no detail")); truncated or corrupt?")
        }
    }

    /// Starts a new file whose content becomes visible at `finalPath` only on `commit()`.
    /// An existing file at `finalPath` stays untouched until then, and is replaced atomically.
    public init(creatingAt finalPath: String) throws {
        HDF5Library.prepare()
        path = finalPath
        let url = URL(fileURLWithPath: finalPath)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ArtifactError(.writeFailed, file: finalPath, "cannot create the file: directory \(directory) does not exist")
        }
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())").path
        temporaryPath = temporary
        let access = Self.accessList()
        fileID = H5Fcreate(temporary, HDF5Library.truncate, HDF5Library.defaultID, access.id)
        guard fileID >= 0 else {
            throw ArtifactError(.writeFailed, file: finalPath,
                                "cannot create temporary file \(temporary) (\(HDF5Library.lastErrorDetail() ?? String(cString: strerror(errno))))")
        }
    }

    deinit {
        HDF5Library.prepare()
        if fileID >= 0 { H5Fclose(fileID) }
        if let temporaryPath, !committed { unlink(temporaryPath) }
    }

    /// Closes the file being written, makes its bytes durable and renames it to the final path.
    public func commit() throws {
        guard let temporaryPath else {
            throw ArtifactError(.writeFailed, file: path, "commit() called on a file opened for reading")
        }
        guard !committed, fileID >= 0 else {
            throw ArtifactError(.writeFailed, file: path, "commit() called twice")
        }
        HDF5Library.prepare()
        let status = H5Fclose(fileID)
        fileID = -1
        guard status >= 0 else {
            throw ArtifactError(.writeFailed, file: path, "closing the HDF5 file failed (\(HDF5Library.lastErrorDetail() ?? "no detail"))")
        }
        try Self.synchronise(temporaryPath, finalPath: path)
        guard rename(temporaryPath, path) == 0 else {
            throw ArtifactError(.writeFailed, file: path, "cannot rename \(temporaryPath) into place: \(String(cString: strerror(errno)))")
        }
        committed = true
        // Persist the rename itself; failure here cannot lose data already renamed, so it is not an error.
        let directory = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY)
        if directory >= 0 { fsync(directory); close(directory) }
    }

    /// Whether a group or dataset exists at `objectPath` ("/" is the root).
    public func exists(_ objectPath: String) -> Bool {
        guard fileID >= 0 else { return false }
        HDF5Library.prepare()
        let components = objectPath.split(separator: "/")
        // H5Lexists fails (rather than answering false) when an intermediate group is missing.
        var prefix = ""
        for component in components {
            prefix += "/" + component
            guard H5Lexists(fileID, prefix, HDF5Library.defaultID) > 0 else { return false }
        }
        return components.isEmpty || H5Oexists_by_name(fileID, prefix, HDF5Library.defaultID) > 0
    }

    /// Names (not paths) of the links inside a group, sorted by name.
    public func members(ofGroup group: String) throws -> [String] {
        let handle = try openObject(group, expecting: H5I_GROUP, kind: "group")
        var info = H5G_info_t()
        guard H5Gget_info(handle.id, &info) >= 0 else { throw failure(.unreadable, "cannot list group \"\(group)\"") }
        return try (0..<info.nlinks).map { index in
            let length = H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, HDF5Library.defaultID)
            guard length >= 0 else { throw failure(.unreadable, "cannot read member \(index) of group \"\(group)\"") }
            var name = [CChar](repeating: 0, count: Int(length) + 1)
            H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &name, name.count, HDF5Library.defaultID)
            return String(cString: name)
        }
    }

    /// The dimensions of a dataset ([] for a scalar).
    public func shape(_ dataset: String) throws -> [Int] {
        let handle = try openObject(dataset, expecting: H5I_DATASET, kind: "dataset")
        let space = H5Handle(H5Dget_space(handle.id))
        return try extent(of: space, what: "dataset \"\(dataset)\"")
    }

    // MARK: - Shared internals

    func failure(_ kind: ArtifactError.Kind, _ problem: String) -> ArtifactError {
        ArtifactError(kind, file: path, problem)
    }

    /// Like `failure` but appends the HDF5 library's own explanation when it has one.
    func libraryFailure(_ kind: ArtifactError.Kind, _ problem: String) -> ArtifactError {
        guard let detail = HDF5Library.lastErrorDetail() else { return failure(kind, problem) }
        return failure(kind, "\(problem) (HDF5: \(detail))")
    }

    func requireOpen() throws {
        HDF5Library.prepare()
        guard fileID >= 0 else { throw failure(.writeFailed, "the file is already committed and closed") }
    }

    /// Opens a group or dataset, with clear errors when it is missing or of the other kind.
    func openObject(_ objectPath: String, expecting expected: H5I_type_t, kind: String) throws -> H5Handle {
        try requireOpen()
        guard exists(objectPath) else { throw failure(.missingObject, "no \(kind) \"\(objectPath)\"") }
        let handle = H5Handle(H5Oopen(fileID, objectPath, HDF5Library.defaultID))
        guard handle.isValid else { throw libraryFailure(.unreadable, "cannot open \"\(objectPath)\"") }
        let actual = H5Iget_type(handle.id)
        guard actual == expected else {
            let actualKind = actual == H5I_GROUP ? "a group" : actual == H5I_DATASET ? "a dataset" : "a named datatype"
            throw failure(.wrongType, "\"\(objectPath)\" is \(actualKind), not a \(kind)")
        }
        return handle
    }

    /// Dimensions of a dataspace: [] for scalars; an error for null dataspaces (no data at all).
    func extent(of space: borrowing H5Handle, what: String) throws -> [Int] {
        switch H5Sget_simple_extent_type(space.id) {
        case H5S_SCALAR:
            return []
        case H5S_SIMPLE:
            let rank = Int(H5Sget_simple_extent_ndims(space.id))
            var dims = [hsize_t](repeating: 0, count: rank)
            H5Sget_simple_extent_dims(space.id, &dims, nil)
            return dims.map { Int($0) }
        default:
            throw failure(.wrongShape, "\(what) holds no data (null dataspace)")
        }
    }

    private static func accessList() -> H5Handle {
        let list = H5Handle(H5Pcreate(H5P_CLS_FILE_ACCESS_ID_g))
        // Closing the file closes every object still open in it, so nothing keeps it half-open.
        H5Pset_fclose_degree(list.id, H5F_CLOSE_STRONG)
        return list
    }

    /// Distinguishes missing, empty, directory and non-HDF5 paths before HDF5 gives a generic error.
    private static func checkIsHDF5(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ArtifactError(.missingFile, file: path, "no such file")
        }
        guard !isDirectory.boolValue else { throw ArtifactError(.missingFile, file: path, "is a directory, not an HDF5 file") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
        if size == 0 { throw ArtifactError(.emptyFile, file: path, "file is empty (0 bytes); an interrupted copy or write?") }
        let status = H5Fis_hdf5(path)
        guard status > 0 else {
            if status < 0, access(path, R_OK) != 0 {
                throw ArtifactError(.unreadable, file: path, "cannot read the file: \(String(cString: strerror(errno)))")
            }
            throw ArtifactError(.notHDF5, file: path, "not an HDF5 file (no HDF5 signature in its \(size.map { "\($0) bytes" } ?? "content"))")
        }
    }

    private static func synchronise(_ temporaryPath: String, finalPath: String) throws {
        let descriptor = open(temporaryPath, O_RDONLY)
        guard descriptor >= 0, fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            if descriptor >= 0 { close(descriptor) }
            throw ArtifactError(.writeFailed, file: finalPath, "cannot flush \(temporaryPath) to disk: \(reason)")
        }
        close(descriptor)
    }
}

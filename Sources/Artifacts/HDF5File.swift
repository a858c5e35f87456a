import CHDF5
import Foundation

/// One HDF5 file, opened for reading or being written.
///
/// A file created with `init(creatingAt:)` is built in memory and only appears at its final path
/// when `commit()` succeeds: the bytes go to a hidden temporary sibling, which is flushed to disk
/// and renamed. An uncommitted writer removes its temporary file when released, so readers never
/// see a half-written artifact.
///
/// HDF5 itself never writes to disk: after a failed write (a full disk) HDF5 1.10 leaves the file
/// or dataset it could not close half torn down and closes it again at exit, a segmentation fault.
/// Built in memory, the file can only fail to reach the disk in `commit()`'s own `write`, whose
/// error is an ordinary one.
///
/// Paths of datasets and groups are relative to the root ("cases/case1/masks"); a leading "/" is allowed.
/// Not safe for concurrent use from several threads (the HDF5 library itself is).
public final class HDF5File {
    /// The path errors name: the file being read, or the final path of the file being written.
    public let path: String
    /// Set while writing: where the bytes go on `commit()` before the rename.
    let temporaryPath: String?
    private(set) var fileID: hid_t
    /// The temporary file, open from creation (so an unwritable directory fails before any work) until committed.
    private var temporaryDescriptor: Int32
    /// Whether the temporary file is still this writer's to remove (not yet renamed into place or removed).
    private var ownsTemporaryFile: Bool

    /// Opens an existing file read-only.
    public init(readingAt path: String) throws {
        HDF5Library.prepare()
        self.path = path
        self.temporaryPath = nil
        temporaryDescriptor = -1
        ownsTemporaryFile = false
        try Self.checkIsHDF5(path)
        try HDF5LayoutCheck.check(path)
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
        let url = URL(fileURLWithPath: finalPath)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ArtifactError(.writeFailed, file: finalPath, "cannot create the file: directory \(directory) does not exist")
        }
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())").path
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ArtifactError(.writeFailed, file: finalPath,
                                "cannot create temporary file \(temporary): \(String(cString: strerror(errno)))")
        }
        let access = Self.accessList()
        // The core driver without a backing store: the file lives in memory until commit() copies it out.
        H5Pset_fapl_core(access.id, Self.memoryIncrement, false)
        let id = H5Fcreate(temporary, HDF5Library.truncate, HDF5Library.defaultID, access.id)
        guard id >= 0 else {
            let detail = HDF5Library.lastErrorDetail() ?? "no detail"
            close(descriptor)
            unlink(temporary)
            throw ArtifactError(.writeFailed, file: finalPath, "HDF5 cannot create the file in memory (\(detail))")
        }
        path = finalPath
        temporaryPath = temporary
        temporaryDescriptor = descriptor
        ownsTemporaryFile = true
        fileID = id
    }

    deinit {
        HDF5Library.prepare()
        if fileID >= 0 { H5Fclose(fileID) }
        releaseTemporaryFile()
    }

    /// Copies the finished file to its temporary sibling, makes the bytes durable and renames it
    /// to the final path. Nothing appears there when any step fails.
    public func commit() throws {
        guard let temporaryPath else {
            throw ArtifactError(.writeFailed, file: path, "commit() called on a file opened for reading")
        }
        guard fileID >= 0 else {
            throw ArtifactError(.writeFailed, file: path, "commit() called twice")
        }
        HDF5Library.prepare()
        do {
            let image = try fileImage()
            let status = H5Fclose(fileID)
            fileID = -1
            guard status >= 0 else {
                throw ArtifactError(.writeFailed, file: path, "closing the HDF5 file failed (\(HDF5Library.lastErrorDetail() ?? "no detail"))")
            }
            try writeAndSynchronise(image, to: temporaryPath)
            guard rename(temporaryPath, path) == 0 else {
                throw ArtifactError(.writeFailed, file: path, "cannot rename \(temporaryPath) into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            // A failed commit is final: nothing is left behind, not even until the writer is released.
            if fileID >= 0 { H5Fclose(fileID) }
            fileID = -1
            releaseTemporaryFile()
            throw error
        }
        ownsTemporaryFile = false
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
            return try dims.map { size in
                guard let dimension = Int(exactly: size) else {
                    throw failure(.exceedsLimit, "\(what) announces a dimension of \(size), beyond any limit")
                }
                return dimension
            }
        default:
            throw failure(.wrongShape, "\(what) holds no data (null dataspace)")
        }
    }

    /// The number of elements of `shape`, after checking that holding them in memory (`elementSize`
    /// bytes each) stays within `ArtifactLimits.maxDatasetBytes`: called before allocating.
    func allocationCount(_ shape: [Int], elementSize: Int, what: String) throws -> Int {
        guard !shape.contains(0) else { return 0 }
        let limit = ArtifactLimits.maxDatasetBytes
        var bytes = max(elementSize, 1), overflow = false
        for size in shape where !overflow { (bytes, overflow) = bytes.multipliedReportingOverflow(by: size) }
        guard !overflow, bytes <= limit else {
            let amount = overflow ? "more than \(Int.max) bytes" : ArtifactLimits.describe(bytes: bytes)
            throw failure(.exceedsLimit, "\(what) announces shape \(shape), \(amount) in memory, above the limit of " +
                          "\(ArtifactLimits.describe(bytes: limit)) for one dataset (--max-dataset-mb)")
        }
        return bytes / max(elementSize, 1)
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

    /// Closes the temporary file and removes it unless it was renamed into place.
    private func releaseTemporaryFile() {
        if temporaryDescriptor >= 0 { close(temporaryDescriptor) }
        temporaryDescriptor = -1
        if let temporaryPath, ownsTemporaryFile { unlink(temporaryPath) }
        ownsTemporaryFile = false
    }

    /// In-memory files grow in steps of this many bytes.
    private static let memoryIncrement = 4 << 20

    /// The bytes of the in-memory file being written.
    private func fileImage() throws -> [UInt8] {
        guard H5Fflush(fileID, H5F_SCOPE_LOCAL) >= 0 else { throw libraryFailure(.writeFailed, "cannot finish the file in memory") }
        let size = H5Fget_file_image(fileID, nil, 0)
        guard size > 0 else { throw libraryFailure(.writeFailed, "cannot take the image of the file in memory") }
        return try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialised in
            guard H5Fget_file_image(fileID, buffer.baseAddress, size) == size else {
                throw libraryFailure(.writeFailed, "cannot take the image of the file in memory")
            }
            initialised = size
        }
    }

    /// Writes every byte to the temporary file, flushes it to disk and closes it.
    private func writeAndSynchronise(_ bytes: [UInt8], to temporaryPath: String) throws {
        let failed = { (action: String) in
            ArtifactError(.writeFailed, file: self.path, "cannot \(action) \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = writeSystemCall(temporaryDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw failed("write") }
                offset += written
            }
        }
        guard fsync(temporaryDescriptor) == 0 else { throw failed("flush to disk") }
        let status = close(temporaryDescriptor)
        temporaryDescriptor = -1
        guard status == 0 else { throw failed("close") }
    }
}

/// POSIX `write`, which the `write` methods of `HDF5File` hide inside the class.
private func writeSystemCall(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

import TensorMath
import Foundation

/// Loads a checkpoint written by `torch.save` (zip format): a plain state dict, or a dict
/// holding one under "model" or "state_dict". Non-tensor entries are skipped.
public func loadPyTorchCheckpoint(_ path: String) throws -> StateDict {
    try loadPyTorchCheckpoint(MappedFile(path: path))
}

/// Every size is checked against the archive before anything is allocated, and every zip
/// entry read is checked against its CRC-32 before it is used.
func loadPyTorchCheckpoint(_ file: MappedFile) throws -> StateDict {
    let archive = try ZipArchive(file)
    let prefix = try recordPrefix(archive)
    if archive.contains(prefix + "byteorder") {
        let order = String(decoding: try archive.contents(of: prefix + "byteorder"), as: UTF8.self)
        guard order == "little" else {
            throw file.error("byte order '\(order.oneLine())' is not supported (only little-endian checkpoints)", kind: .unsupported)
        }
    }
    let pickle = try archive.contents(of: prefix + "data.pkl")
    var machine = PickleMachine(pickle, path: file.path, context: "\(prefix.oneLine())data.pkl")
    let root = try machine.run()

    let tensors = try stateDictTensors(in: root, file: file)
    try checkStorageSizes(tensors, archive: archive, prefix: prefix)
    try checkAllocation(tensors.map { ($0.name, $0.reference.layout.elementCount ?? 0) }, file: file)
    return StateDict(source: file.path, entries: try materializeVerified(tensors, archive: archive, prefix: prefix))
}

/// The folder every record sits in (`archive/` or the name the file was saved under).
private func recordPrefix(_ archive: ZipArchive) throws -> String {
    for name in archive.names where name.hasSuffix("/data.pkl") {
        let prefix = name.dropLast("data.pkl".count)
        if prefix.dropLast().firstIndex(of: "/") == nil { return String(prefix) }
    }
    throw archive.file.error("zip archive has no '<folder>/data.pkl', so it was not written by torch.save")
}

/// Picks the dict of tensors: the top-level dict itself, or its "model" / "state_dict" entry.
private func stateDictTensors(in root: PickleValue, file: MappedFile) throws -> [(name: String, reference: TensorReference)] {
    guard case .dict(let top) = root else {
        throw file.error("the pickled object is a \(root.kindName), not a dict of tensors")
    }
    let direct = try tensorEntries(of: top, file: file)
    if !direct.isEmpty { return direct }
    for wrapper in ["model", "state_dict"] {
        if case .dict(let nested)? = top[wrapper] {
            let tensors = try tensorEntries(of: nested, file: file)
            if !tensors.isEmpty { return tensors }
        }
    }
    let keys = top.entries.prefix(8).map { entry -> String in
        if case .string(let text) = entry.key { return text.oneLine(limit: 40) }
        return entry.key.kindName
    }
    throw file.error("no tensors found: the top-level dict (keys: \(keys.joined(separator: ", "))) holds no tensors and no 'model' or 'state_dict' dict of tensors")
}

private func tensorEntries(of dict: PickleDict, file: MappedFile) throws -> [(name: String, reference: TensorReference)] {
    var result: [(name: String, reference: TensorReference)] = []
    for (key, value) in dict.entries {
        guard case .tensor(let tensor) = value else { continue }
        guard case .string(let name) = key else {
            throw file.error("a tensor is stored under a \(key.kindName) key, not a name")
        }
        result.append((name, tensor))
    }
    return result
}

/// Checks every tensor's view against its storage's element count, and every storage's element
/// count against the size of its zip entry, from the pickle and the central directory alone.
private func checkStorageSizes(_ tensors: [(name: String, reference: TensorReference)],
                               archive: ZipArchive, prefix: String) throws {
    let file = archive.file
    for (name, reference) in tensors {
        let storage = reference.storage, layout = reference.layout
        let entryName = "data/\(storage.key.oneLine())"
        guard let entrySize = archive.size(of: prefix + "data/" + storage.key) else {
            throw file.error("tensor '\(name.oneLine())' uses storage '\(entryName)', which is missing from the archive", tensor: name)
        }
        let (neededBytes, overflow) = storage.elementCount.multipliedReportingOverflow(by: storage.type.byteCount)
        guard !overflow, neededBytes <= file.bytes.count else {
            throw file.error("storage '\(entryName)' of tensor '\(name.oneLine())' claims \(grouped(storage.elementCount)) elements, more than the \(grouped(file.bytes.count))-byte file can hold",
                             kind: .tooLarge, tensor: name)
        }
        guard neededBytes <= entrySize else {
            throw file.error("truncated: storage '\(entryName)' needs \(grouped(neededBytes)) bytes but its zip entry holds \(grouped(entrySize))",
                             kind: .truncated, tensor: name)
        }
        guard layout.elementCount != nil, let extent = layout.storageExtent else {
            let negative = layout.offset < 0 || (layout.shape + layout.strides).contains { $0 < 0 } || layout.shape.count != layout.strides.count
            throw file.error("tensor '\(name.oneLine())' has an invalid view (size \(layout.shape), stride \(layout.strides), offset \(layout.offset))",
                             kind: negative ? .malformed : .tooLarge, tensor: name)
        }
        guard extent <= storage.elementCount else {
            throw file.error("tensor '\(name.oneLine())' (size \(layout.shape), stride \(layout.strides), offset \(layout.offset)) reaches element \(grouped(extent)) of storage '\(entryName)', which holds \(grouped(storage.elementCount))",
                             tensor: name)
        }
    }
}

/// The tensors as float32, storage by storage in parallel: each storage's CRC-32 is checked
/// once, then its tensors are converted while its bytes are still in the cache.
private func materializeVerified(_ tensors: [(name: String, reference: TensorReference)], archive: ZipArchive,
                                 prefix: String) throws -> [(name: String, tensor: Tensor)] {
    let users = Dictionary(grouping: tensors.indices) { tensors[$0].reference.storage.key }
    let keys = users.keys.sorted()
    var failures = [(any Error)?](repeating: nil, count: keys.count)
    var results = [Tensor?](repeating: nil, count: tensors.count)
    failures.withUnsafeMutableBufferPointer { failures in
        results.withUnsafeMutableBufferPointer { results in
            let failed = failures.baseAddress!, done = results.baseAddress!
            parallelFor(keys.count) { _, index in
                do {
                    let bytes = try archive.contents(of: prefix + "data/" + keys[index])
                    for user in users[keys[index]]! {
                        let reference = tensors[user].reference
                        done[user] = materializeTensor(reference.storage.type, storage: bytes, layout: reference.layout)
                    }
                } catch {
                    failed[index] = error
                }
            }
        }
    }
    if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
    return zip(tensors, results).map { ($0.name, $1!) }
}

/// Refuses tensors that need more memory as float32 than the machine has, one by one and
/// together (corrupt sizes, huge zero-stride views), instead of letting the allocation abort the process.
func checkAllocation(_ tensors: [(name: String, count: Int)], file: MappedFile) throws {
    let memory = ProcessInfo.processInfo.physicalMemory
    var total: UInt64 = 0
    for (name, count) in tensors {
        let bytes = count.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        guard !bytes.overflow, UInt64(bytes.partialValue) <= memory else {
            throw file.error("tensor '\(name.oneLine())' has \(grouped(count)) elements, more float32s than this machine's memory can hold",
                             kind: .tooLarge, tensor: name)
        }
        total += UInt64(bytes.partialValue)
    }
    guard total <= memory else {
        throw file.error("its \(grouped(tensors.count)) tensors need \(grouped(total)) bytes as float32, more than this machine's \(grouped(memory)) bytes of memory",
                         kind: .tooLarge)
    }
}

import TensorMath
import Foundation

/// Loads a checkpoint written by `torch.save` (zip format): a plain state dict, or a dict
/// holding one under "model" or "state_dict". Non-tensor entries are skipped.
public func loadPyTorchCheckpoint(_ path: String) throws -> StateDict {
    try loadPyTorchCheckpoint(MappedFile(path: path))
}

func loadPyTorchCheckpoint(_ file: MappedFile) throws -> StateDict {
    let archive = try ZipArchive(file)
    let prefix = try recordPrefix(archive)
    if archive.contains(prefix + "byteorder") {
        let order = String(decoding: try archive.contents(of: prefix + "byteorder"), as: UTF8.self)
        guard order == "little" else {
            throw file.error("byte order '\(order)' is not supported (only little-endian checkpoints)")
        }
    }
    let pickle = try archive.contents(of: prefix + "data.pkl")
    var machine = PickleMachine(pickle, path: file.path, context: "\(prefix)data.pkl")
    let root = try machine.run()

    var entries: [(name: String, tensor: Tensor)] = []
    for (name, reference) in try stateDictTensors(in: root, file: file) {
        entries.append((name, try materialize(reference, named: name, archive: archive, prefix: prefix)))
    }
    return StateDict(source: file.path, entries: entries)
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
private func stateDictTensors(in root: PickleValue, file: MappedFile) throws -> [(String, TensorReference)] {
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
        if case .string(let text) = entry.key { return text }
        return entry.key.kindName
    }
    throw file.error("no tensors found: the top-level dict (keys: \(keys.joined(separator: ", "))) holds no tensors and no 'model' or 'state_dict' dict of tensors")
}

private func tensorEntries(of dict: PickleDict, file: MappedFile) throws -> [(String, TensorReference)] {
    var result: [(String, TensorReference)] = []
    for (key, value) in dict.entries {
        guard case .tensor(let tensor) = value else { continue }
        guard case .string(let name) = key else {
            throw file.error("a tensor is stored under a \(key.kindName) key, not a name")
        }
        result.append((name, tensor))
    }
    return result
}

private func materialize(_ reference: TensorReference, named name: String,
                         archive: ZipArchive, prefix: String) throws -> Tensor {
    let file = archive.file
    let storage = reference.storage
    let entryName = "data/\(storage.key)"
    guard archive.contains(prefix + entryName) else {
        throw file.error("tensor '\(name)' uses storage '\(entryName)', which is missing from the archive")
    }
    let bytes = try archive.contents(of: prefix + entryName)
    let (neededBytes, overflow) = storage.elementCount.multipliedReportingOverflow(by: storage.type.byteCount)
    guard !overflow else {
        throw file.error("storage '\(entryName)' claims an impossible \(storage.elementCount) elements")
    }
    guard neededBytes <= bytes.count else {
        throw file.error("truncated: storage '\(entryName)' needs \(grouped(neededBytes)) bytes but its zip entry holds \(grouped(bytes.count))")
    }
    let layout = reference.layout
    guard let count = layout.elementCount, let extent = layout.storageExtent else {
        throw file.error("tensor '\(name)' has an invalid view (size \(layout.shape), stride \(layout.strides), offset \(layout.offset))")
    }
    guard extent <= storage.elementCount else {
        throw file.error("tensor '\(name)' (size \(layout.shape), stride \(layout.strides), offset \(layout.offset)) reaches element \(grouped(extent)) of storage '\(entryName)', which holds \(grouped(storage.elementCount))")
    }
    try checkAllocation(count: count, name: name, file: file)
    return materializeTensor(storage.type, storage: bytes, layout: layout)
}

/// Refuses a tensor larger than physical memory (a corrupt size or a huge zero-stride view)
/// instead of letting the allocation abort the process.
func checkAllocation(count: Int, name: String, file: MappedFile) throws {
    let bytes = count.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
    guard !bytes.overflow, UInt64(bytes.partialValue) <= ProcessInfo.processInfo.physicalMemory else {
        throw file.error("tensor '\(name)' has \(grouped(count)) elements, more float32s than this machine's memory can hold")
    }
}

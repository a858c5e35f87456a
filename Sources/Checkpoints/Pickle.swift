/// The values a torch state-dict pickle is built from. Lists and dicts are classes because
/// the pickle fills them after they were memoised and possibly shared.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    case global(TorchGlobal)
    case storage(StorageReference)
    case tensor(TensorReference)

    var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let global): return "global \(global)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }

    /// Levels of containers: 0 for a scalar, 1 for an empty or flat container.
    var depth: Int {
        switch self {
        case .tuple(let tuple): return tuple.depth
        case .list(let list): return list.depth
        case .dict(let dict): return dict.depth
        default: return 0
        }
    }

    /// The mutable container this value is, if it is one.
    var container: PickleContainer? {
        switch self {
        case .list(let list): return list
        case .dict(let dict): return dict
        default: return nil
        }
    }
}

struct PickleTuple {
    let items: [PickleValue]
    let depth: Int
}

/// A list or dict. The pickler fills a container before storing it in another, so once stored
/// (sealed) it is never changed again; refusing later changes keeps `depth` exact and rules out cycles.
class PickleContainer {
    var depth = 1
    var isSealed = false
}

final class PickleList: PickleContainer {
    var items: [PickleValue] = []
}

/// An insertion-ordered dict; str and int keys replace earlier entries like Python's dict.
final class PickleDict: PickleContainer {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var positions: [HashableKey: Int] = [:]

    private enum HashableKey: Hashable {
        case string(String)
        case int(Int)
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        let hashable: HashableKey?
        switch key {
        case .string(let text): hashable = .string(text)
        case .int(let number): hashable = .int(number)
        default: hashable = nil
        }
        if let hashable, let position = positions[hashable] {
            entries[position].value = value
            return
        }
        if let hashable { positions[hashable] = entries.count }
        entries.append((key, value))
    }

    subscript(key: String) -> PickleValue? {
        positions[.string(key)].map { entries[$0].value }
    }
}

/// The only callables and classes a checkpoint may name; anything else is refused, since
/// unpickling arbitrary globals would mean running arbitrary code.
enum TorchGlobal: CustomStringConvertible {
    case orderedDict
    case rebuildTensor
    case rebuildParameter
    case rebuildParameterWithState
    case storageType(ElementType, name: String)

    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("torch", _):
            guard let type = ElementType(torchStorageName: name) else { return nil }
            self = .storageType(type, name: name)
        default: return nil
        }
    }

    var description: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .rebuildTensor: return "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .storageType(_, let name): return "torch.\(name)"
        }
    }
}

/// A storage named by a persistent id: its bytes are the zip entry `data/<key>`.
struct StorageReference {
    let type: ElementType
    let key: String
    let elementCount: Int
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage.
struct TensorReference {
    let storage: StorageReference
    let layout: StridedLayout
}

/// A pickle virtual machine for the protocol-2+ subset that `torch.save` emits. Values nest at
/// most `maximumDepth` containers deep: deeper ones (a state dict needs a handful of levels)
/// would only serve to exhaust the stack when they are released, which happens recursively.
struct PickleMachine {
    static let maximumDepth = 100

    private var reader: ByteReader
    private var stack: [PickleValue] = []
    private var markPositions: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(_ bytes: UnsafeRawBufferPointer, path: String, context: String) {
        reader = ByteReader(bytes, path: path, context: context)
    }

    /// Runs the program up to STOP and returns the object it built.
    mutating func run() throws -> PickleValue {
        while true {
            let opcodePosition = reader.position
            let opcode = try reader.read(UInt8.self)
            if opcode == UInt8(ascii: ".") {
                return try pop(at: opcodePosition)
            }
            try execute(opcode, at: opcodePosition)
        }
    }

    private func error(_ problem: String, at position: Int) -> CheckpointError {
        reader.error("\(problem) (at byte \(grouped(position)))")
    }

    private mutating func execute(_ opcode: UInt8, at position: Int) throws {
        switch opcode {
        case 0x80:  // PROTO
            let version = try reader.read(UInt8.self)
            guard version <= 5 else { throw error("unsupported pickle protocol \(version)", at: position) }
        case 0x95:  // FRAME: only a buffering hint
            _ = try reader.read(UInt64.self)
        case UInt8(ascii: "}"): stack.append(.dict(PickleDict()))
        case UInt8(ascii: "]"): stack.append(.list(PickleList()))
        case UInt8(ascii: ")"): stack.append(.tuple(PickleTuple(items: [], depth: 1)))
        case UInt8(ascii: "("): markPositions.append(stack.count)
        case UInt8(ascii: "q"): try memoize(Int(reader.read(UInt8.self)), at: position)
        case UInt8(ascii: "r"): try memoize(Int(reader.read(UInt32.self)), at: position)
        case 0x94: try memoize(memo.count, at: position)  // MEMOIZE
        case UInt8(ascii: "h"): try recall(Int(reader.read(UInt8.self)), at: position)
        case UInt8(ascii: "j"): try recall(Int(reader.read(UInt32.self)), at: position)
        case UInt8(ascii: "X"): try pushString(length: Int(reader.read(UInt32.self)), at: position)
        case 0x8c: try pushString(length: Int(reader.read(UInt8.self)), at: position)  // SHORT_BINUNICODE
        case 0x8d: try pushString(length: try wideLength(at: position), at: position)  // BINUNICODE8
        case UInt8(ascii: "U"): try pushString(length: Int(reader.read(UInt8.self)), at: position)  // SHORT_BINSTRING
        case UInt8(ascii: "T"): try pushString(length: Int(reader.read(Int32.self)), at: position)  // BINSTRING
        case UInt8(ascii: "C"): try pushBytes(length: Int(reader.read(UInt8.self)), at: position)  // SHORT_BINBYTES
        case UInt8(ascii: "B"): try pushBytes(length: Int(reader.read(UInt32.self)), at: position)  // BINBYTES
        case 0x8e: try pushBytes(length: try wideLength(at: position), at: position)  // BINBYTES8
        case UInt8(ascii: "J"): stack.append(.int(Int(try reader.read(Int32.self))))
        case UInt8(ascii: "K"): stack.append(.int(Int(try reader.read(UInt8.self))))
        case UInt8(ascii: "M"): stack.append(.int(Int(try reader.read(UInt16.self))))
        case 0x8a: try pushLong(byteCount: Int(reader.read(UInt8.self)), at: position)  // LONG1
        case 0x8b: try pushLong(byteCount: Int(reader.read(Int32.self)), at: position)  // LONG4
        case UInt8(ascii: "G"):  // BINFLOAT is big-endian
            let bits = UInt64(bigEndian: try reader.readBytes(8).loadUnaligned(as: UInt64.self))
            stack.append(.float(Double(bitPattern: bits)))
        case 0x88: stack.append(.bool(true))
        case 0x89: stack.append(.bool(false))
        case UInt8(ascii: "N"): stack.append(.none)
        case UInt8(ascii: "t"): stack.append(try tuple(try popToMark(at: position), at: position))
        case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
            let count = Int(opcode - 0x84)
            guard stack.count - count >= (markPositions.last ?? 0) else { throw error("stack underflow", at: position) }
            let items = Array(stack.suffix(count))
            stack.removeLast(count)
            stack.append(try tuple(items, at: position))
        case UInt8(ascii: "c"):  // GLOBAL
            let module = try reader.readLine()
            let name = try reader.readLine()
            stack.append(.global(try resolveGlobal(module: module, name: name, at: position)))
        case 0x93:  // STACK_GLOBAL
            let name = try pop(at: position)
            let module = try pop(at: position)
            guard case .string(let moduleText) = module, case .string(let nameText) = name else {
                throw error("STACK_GLOBAL needs two strings, got \(module.kindName) and \(name.kindName)", at: position)
            }
            stack.append(.global(try resolveGlobal(module: moduleText, name: nameText, at: position)))
        case UInt8(ascii: "R"):  // REDUCE
            let arguments = try pop(at: position)
            let callable = try pop(at: position)
            stack.append(try call(callable, arguments, at: position))
        case 0x81:  // NEWOBJ: cls.__new__(cls, *args); only OrderedDict() is meaningful here
            let arguments = try pop(at: position)
            let callable = try pop(at: position)
            stack.append(try call(callable, arguments, at: position))
        case UInt8(ascii: "b"):  // BUILD
            let state = try pop(at: position)
            guard let target = stack.last else { throw error("stack underflow", at: position) }
            try build(target, state: state, at: position)
        case UInt8(ascii: "Q"):  // BINPERSID
            stack.append(try persistentLoad(try pop(at: position), at: position))
        case UInt8(ascii: "s"):  // SETITEM
            let value = try pop(at: position)
            let key = try pop(at: position)
            let dict = try targetDict(at: position)
            try store([key, value], in: dict, at: position)
            dict.set(key, value)
        case UInt8(ascii: "u"):  // SETITEMS
            let items = try popToMark(at: position)
            guard items.count % 2 == 0 else { throw error("SETITEMS with an odd number of items", at: position) }
            let dict = try targetDict(at: position)
            try store(items, in: dict, at: position)
            for pair in stride(from: 0, to: items.count, by: 2) {
                dict.set(items[pair], items[pair + 1])
            }
        case UInt8(ascii: "a"):  // APPEND
            let value = try pop(at: position)
            let list = try targetList(at: position)
            try store([value], in: list, at: position)
            list.items.append(value)
        case UInt8(ascii: "e"):  // APPENDS
            let items = try popToMark(at: position)
            let list = try targetList(at: position)
            try store(items, in: list, at: position)
            list.items.append(contentsOf: items)
        case UInt8(ascii: "0"): _ = try pop(at: position)  // POP
        case UInt8(ascii: "1"): _ = try popToMark(at: position)  // POP_MARK
        case UInt8(ascii: "2"):  // DUP
            guard let top = stack.last else { throw error("stack underflow", at: position) }
            stack.append(top)
        default:
            throw error("unsupported pickle opcode 0x\(String(opcode, radix: 16))", at: position)
        }
    }

    private mutating func pop(at position: Int) throws -> PickleValue {
        guard let value = stack.popLast(), stack.count >= (markPositions.last ?? 0) else {
            throw error("stack underflow", at: position)
        }
        return value
    }

    private mutating func popToMark(at position: Int) throws -> [PickleValue] {
        guard let mark = markPositions.popLast(), mark <= stack.count else {
            throw error("no MARK to pop to", at: position)
        }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func memoize(_ index: Int, at position: Int) throws {
        guard let top = stack.last else { throw error("stack underflow", at: position) }
        memo[index] = top
    }

    private mutating func recall(_ index: Int, at position: Int) throws {
        guard let value = memo[index] else { throw error("memo entry \(index) used before it was stored", at: position) }
        stack.append(value)
    }

    private mutating func wideLength(at position: Int) throws -> Int {
        guard let length = Int(exactly: try reader.read(UInt64.self)) else {
            throw error("length out of range", at: position)
        }
        return length
    }

    private mutating func pushString(length: Int, at position: Int) throws {
        guard length >= 0 else { throw error("negative string length", at: position) }
        stack.append(.string(String(decoding: try reader.readBytes(length), as: UTF8.self)))
    }

    private mutating func pushBytes(length: Int, at position: Int) throws {
        stack.append(.bytes(Array(try reader.readBytes(length))))
    }

    /// LONG1/LONG4: a little-endian two's-complement integer of the given width.
    private mutating func pushLong(byteCount: Int, at position: Int) throws {
        guard (0 ... 8).contains(byteCount) else {
            throw error("integer of \(byteCount) bytes does not fit in 64 bits", at: position)
        }
        let bytes = try reader.readBytes(byteCount)
        var value: UInt64 = 0
        for (shift, byte) in bytes.enumerated() {
            value |= UInt64(byte) << (8 * UInt64(shift))
        }
        if byteCount > 0 && byteCount < 8 && bytes[byteCount - 1] & 0x80 != 0 {
            value |= ~0 << (8 * UInt64(byteCount))  // sign-extend
        }
        stack.append(.int(Int(Int64(bitPattern: value))))
    }

    private func resolveGlobal(module: String, name: String, at position: Int) throws -> TorchGlobal {
        guard let global = TorchGlobal(module: module, name: name) else {
            throw error("unsupported pickle global '\(module).\(name)' (only tensors, storages and OrderedDict can be loaded)", at: position)
        }
        return global
    }

    /// A tuple of `items`, which are sealed inside it.
    private func tuple(_ items: [PickleValue], at position: Int) throws -> PickleValue {
        .tuple(PickleTuple(items: items, depth: try seal(items, at: position)))
    }

    /// Records that `items` go into `container`, which must not be sealed itself, and deepens it.
    private func store(_ items: [PickleValue], in container: PickleContainer, at position: Int) throws {
        guard !container.isSealed else {
            throw error("a list or dict is changed after it was stored inside another container (a recursive structure, which no state dict holds)", at: position)
        }
        guard !items.contains(where: { $0.container === container }) else {
            throw error("a list or dict is stored inside itself", at: position)
        }
        container.depth = max(container.depth, try seal(items, at: position))
    }

    /// Seals the lists and dicts among `items` and returns the depth of a container holding them.
    private func seal(_ items: [PickleValue], at position: Int) throws -> Int {
        var depth = 1
        for item in items {
            item.container?.isSealed = true
            depth = max(depth, item.depth + 1)
        }
        guard depth <= Self.maximumDepth else {
            throw error("values nest more than \(Self.maximumDepth) containers deep", at: position)
        }
        return depth
    }

    private func targetDict(at position: Int) throws -> PickleDict {
        guard case .dict(let dict) = stack.last else {
            throw error("SETITEM on \(stack.last?.kindName ?? "an empty stack"), not a dict", at: position)
        }
        return dict
    }

    private func targetList(at position: Int) throws -> PickleList {
        guard case .list(let list) = stack.last else {
            throw error("APPEND on \(stack.last?.kindName ?? "an empty stack"), not a list", at: position)
        }
        return list
    }

    private func call(_ callable: PickleValue, _ arguments: PickleValue, at position: Int) throws -> PickleValue {
        guard case .global(let global) = callable, case .tuple(let tuple) = arguments else {
            throw error("cannot call \(callable.kindName) with \(arguments.kindName)", at: position)
        }
        let args = tuple.items
        switch global {
        case .orderedDict:
            guard args.isEmpty else { throw error("OrderedDict called with arguments", at: position) }
            return .dict(PickleDict())
        case .rebuildTensor:
            return .tensor(try rebuildTensor(args, at: position))
        case .rebuildParameter, .rebuildParameterWithState:
            guard case .tensor(let tensor)? = args.first else {
                throw error("\(global) expects a tensor first, got \(args.first?.kindName ?? "nothing")", at: position)
            }
            return .tensor(tensor)
        case .storageType:
            throw error("\(global) cannot be called", at: position)
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`
    private func rebuildTensor(_ args: [PickleValue], at position: Int) throws -> TensorReference {
        guard args.count == 6 || args.count == 7,
              case .storage(let storage) = args[0], case .int(let offset) = args[1],
              let shape = integers(args[2]), let strides = integers(args[3]) else {
            throw error("_rebuild_tensor_v2 expects (storage, offset, size, stride, requires_grad, hooks), got (\(args.map(\.kindName).joined(separator: ", ")))", at: position)
        }
        return TensorReference(storage: storage, layout: StridedLayout(offset: offset, shape: shape, strides: strides))
    }

    private func integers(_ value: PickleValue) -> [Int]? {
        guard case .tuple(let tuple) = value else { return nil }
        let items = tuple.items
        var result: [Int] = []
        for item in items {
            guard case .int(let number) = item else { return nil }
            result.append(number)
        }
        return result
    }

    /// Attributes set on an OrderedDict (torch's `_metadata`) carry no weights and are dropped.
    private func build(_ target: PickleValue, state: PickleValue, at position: Int) throws {
        guard case .dict = target else {
            throw error("BUILD on \(target.kindName) is not supported", at: position)
        }
    }

    /// torch's persistent ids: `('storage', storage_type, key, location, numel)`.
    private func persistentLoad(_ id: PickleValue, at position: Int) throws -> PickleValue {
        guard case .tuple(let tuple) = id, case let fields = tuple.items, fields.count == 5,
              case .string("storage") = fields[0], case .global(.storageType(let type, _)) = fields[1],
              case .string(let key) = fields[2], case .int(let count) = fields[4], count >= 0 else {
            throw error("unsupported persistent id \(id.kindName); expected ('storage', type, key, location, numel)", at: position)
        }
        return .storage(StorageReference(type: type, key: key, elementCount: count))
    }
}

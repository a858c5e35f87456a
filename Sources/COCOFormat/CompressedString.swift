/// pycocotools' compressed text form of the counts (`rleToString` / `rleFrString` in maskApi.c).
///
/// Each count is written as a signed number in little-endian groups of 5 bits, one character per
/// group: the character is `48 + group`, plus 32 when another group follows. The last group's bit
/// 16 is the sign, so a number ends once the remaining bits are all copies of it (0 or -1).
/// From the fourth count on (index > 2) the number written is the difference to the count two
/// places before, i.e. to the previous run of the same value, which keeps similar runs short.
/// The alphabet is therefore ASCII 48 ('0') … 111 ('o').
extension RunLengthMask {
    /// The compressed string, byte for byte what `pycocotools.mask.encode(...)["counts"]` holds.
    public var compressedString: String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(counts.count * 2)
        counts.withUnsafeBufferPointer { runs in
            for index in runs.indices {
                var value = Int64(runs[index])
                if index > 2 { value -= Int64(runs[index - 2]) }
                while true {
                    let group = UInt8(truncatingIfNeeded: value & 0x1f)
                    value >>= 5  // arithmetic: negative numbers keep their sign
                    let finished = group & 0x10 == 0 ? value == 0 : value == -1
                    bytes.append(48 + (finished ? group : group | 0x20))
                    if finished { break }
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses a compressed string of a `height × width` mask (the inverse of `compressedString`).
    /// Throws `RunLengthError` for characters outside the alphabet, a string that ends inside a
    /// number, runs that are negative or too long, and runs that do not add up to height × width.
    public init(compressed string: String, height: Int, width: Int) throws {
        self = try string.utf8.withContiguousStorageIfAvailable { try Self(compressed: $0, height: height, width: width) }
            ?? Array(string.utf8).withUnsafeBufferPointer { try Self(compressed: $0, height: height, width: width) }
    }

    /// Parses a compressed string given as its bytes (e.g. straight from a JSON file).
    public init(compressed bytes: UnsafeBufferPointer<UInt8>, height: Int, width: Int) throws {
        try Self.checkSize(height: height, width: width)
        try self.init(height: height, width: width, counts: Self.parseCounts(bytes))
    }

    /// The longest number a 32-bit count or difference of counts needs: 7 groups of 5 bits.
    private static let maximumDigits = 7

    private static func parseCounts(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [UInt32] {
        var counts = [UInt32]()
        counts.reserveCapacity(bytes.count / 2 + 1)
        var offset = 0
        while offset < bytes.count {
            let start = offset
            var value: Int64 = 0, shift: Int64 = 0
            while true {
                guard offset < bytes.count else { throw RunLengthError.truncated(offset: start) }
                let byte = bytes[offset]
                guard byte >= 48, byte <= 111 else { throw RunLengthError.invalidCharacter(byte, offset: offset) }
                guard offset - start < maximumDigits else { throw RunLengthError.numberTooLong(offset: start) }
                let group = Int64(byte - 48)
                value |= (group & 0x1f) << shift
                shift += 5
                offset += 1
                if group & 0x20 == 0 {
                    if group & 0x10 != 0 { value |= -1 << shift }  // negative: extend the sign
                    break
                }
            }
            if counts.count > 2 { value += Int64(counts[counts.count - 2]) }
            guard value >= 0, value <= Int64(UInt32.max) else {
                throw RunLengthError.invalidRunLength(value, run: counts.count)
            }
            counts.append(UInt32(value))
        }
        return counts
    }
}

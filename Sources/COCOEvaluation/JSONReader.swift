import Checkpoints
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pull reader of JSON text: the caller walks the structure it expects (objects member by
/// member, arrays element by element) and skips what it does not need, so no document is built.
/// COCO result files hold hundreds of thousands of objects; this reads them at memory speed.
///
/// The text must be followed by a NUL byte in memory (`JSONText` provides it), which ends every
/// number scan. The grammar is RFC 8259's, strictly: no trailing commas, no NaN.
struct JSONReader {
    private let bytes: UnsafePointer<UInt8>
    private let count: Int
    private(set) var offset = 0
    private var depth = 0
    /// Reused for strings with escapes.
    private var scratch = [UInt8]()

    /// Objects and arrays nested deeper than this are refused rather than exhausting the stack.
    private static let maximumDepth = 256

    init(_ text: UnsafeBufferPointer<UInt8>) {
        bytes = text.baseAddress!
        count = text.count
    }

    enum Kind { case object, array, string, number, literal }

    mutating func peekKind() throws -> Kind {
        skipWhitespace()
        guard offset < count else { throw error("unexpected end of the text") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"): return .literal
        default: throw error("unexpected character \(describe(bytes[offset]))")
        }
    }

    /// Reads an object, calling `member` with each key; `member` must consume the value.
    mutating func readObject(_ member: (JSONKey, inout JSONReader) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        try enter()
        skipWhitespace()
        if !consume(UInt8(ascii: "}")) {
            repeat {
                skipWhitespace()
                let key = try readKey()
                try expect(UInt8(ascii: ":"))
                try member(key, &self)
                skipWhitespace()
            } while consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"))
        }
        depth -= 1
    }

    /// Reads an array, calling `element` for each element; `element` must consume it.
    mutating func readArray(_ element: (inout JSONReader) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        try enter()
        skipWhitespace()
        if !consume(UInt8(ascii: "]")) {
            repeat {
                try element(&self)
                skipWhitespace()
            } while consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"))
        }
        depth -= 1
    }

    /// A JSON number as the nearest double (what Python's json and strtod give).
    mutating func readDouble() throws -> Double {
        skipWhitespace()
        let start = offset
        var mantissa: UInt64 = 0
        var digits = 0, exponent = 0
        let negative = consume(UInt8(ascii: "-"))
        guard offset < count, isDigit(bytes[offset]) else { throw error("expected a number") }
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
        } else {
            while offset < count, isDigit(bytes[offset]) { accumulate(&mantissa, &digits, &exponent, afterPoint: false) }
        }
        if consume(UInt8(ascii: ".")) {
            guard offset < count, isDigit(bytes[offset]) else { throw error("expected a digit after the decimal point") }
            while offset < count, isDigit(bytes[offset]) { accumulate(&mantissa, &digits, &exponent, afterPoint: true) }
        }
        if offset < count, bytes[offset] | 0x20 == UInt8(ascii: "e") {
            offset += 1
            let negativeExponent = consume(UInt8(ascii: "-"))
            if !negativeExponent { _ = consume(UInt8(ascii: "+")) }
            guard offset < count, isDigit(bytes[offset]) else { throw error("expected an exponent") }
            var written = 0
            while offset < count, isDigit(bytes[offset]) {
                written = min(written * 10 + Int(bytes[offset] - UInt8(ascii: "0")), 100_000)
                offset += 1
            }
            exponent += negativeExponent ? -written : written
        }
        // Exact when the digits fit a double and the power of ten is exact too (Clinger's fast
        // path): one correctly rounded multiplication or division.
        if mantissa < 1 << 53, abs(exponent) <= 22 {
            let value = exponent < 0 ? Double(mantissa) / Self.powersOfTen[-exponent] : Double(mantissa) * Self.powersOfTen[exponent]
            return negative ? -value : value
        }
        return parseWithLibrary(from: start)
    }

    /// An integer; a number with a fraction or exponent must be integral (as `1.0` is for Python's `int()`).
    mutating func readInt() throws -> Int {
        let start = offset
        let value = try readDouble()
        guard value.rounded(.towardZero) == value, abs(value) < 9.0e15 else {
            offset = start
            throw error("expected an integer, found \(value)")
        }
        return Int(value)
    }

    mutating func readString() throws -> String {
        try withStringBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with the string's bytes, escapes resolved.
    mutating func withStringBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) throws -> Result {
        try expect(UInt8(ascii: "\""))
        let start = offset
        while offset < count, bytes[offset] != UInt8(ascii: "\""), bytes[offset] != UInt8(ascii: "\\") {
            guard bytes[offset] >= 0x20 else { throw error("control character in a string") }
            offset += 1
        }
        guard offset < count else { throw error("unterminated string") }
        if bytes[offset] == UInt8(ascii: "\"") {
            offset += 1
            return try body(UnsafeBufferPointer(start: bytes + start, count: offset - 1 - start))
        }
        // Escapes (RLE strings have a backslash in their alphabet): resolve into the scratch buffer.
        var unescaped = [UInt8]()
        swap(&unescaped, &scratch)
        defer { swap(&unescaped, &scratch) }
        unescaped.removeAll(keepingCapacity: true)
        unescaped.append(contentsOf: UnsafeBufferPointer(start: bytes + start, count: offset - start))
        try readEscapedRest(into: &unescaped)
        return try unescaped.withUnsafeBufferPointer(body)
    }

    /// Reads `true`, `false` or `null`.
    mutating func readLiteral() throws -> Bool? {
        skipWhitespace()
        for (word, value) in [("true", true as Bool?), ("false", false), ("null", nil)] where matches(word) {
            offset += word.utf8.count
            return value
        }
        throw error("expected true, false or null")
    }

    /// Skips one value of any kind.
    mutating func skipValue() throws {
        switch try peekKind() {
        case .object: try readObject { _, reader in try reader.skipValue() }
        case .array: try readArray { reader in try reader.skipValue() }
        case .string: try withStringBytes { _ in }
        case .number: _ = try readDouble()
        case .literal: _ = try readLiteral()
        }
    }

    /// After the top-level value: only whitespace may follow.
    mutating func expectEnd() throws {
        skipWhitespace()
        guard offset == count else { throw error("unexpected \(describe(bytes[offset])) after the JSON value") }
    }

    /// A problem at the current place, with its line.
    func error(_ problem: String) -> JSONReadError {
        var line = 1
        for index in 0..<min(offset, count) where bytes[index] == UInt8(ascii: "\n") { line += 1 }
        return JSONReadError(offset: offset, line: line, problem: problem)
    }

    // MARK: - Pieces

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    /// Takes one digit into the mantissa; digits beyond 19 only move the exponent (the slow path
    /// then parses the text again anyway).
    private mutating func accumulate(_ mantissa: inout UInt64, _ digits: inout Int, _ exponent: inout Int, afterPoint: Bool) {
        let digit = UInt64(bytes[offset] - UInt8(ascii: "0"))
        offset += 1
        if digits == 0 && digit == 0 {
            if afterPoint { exponent -= 1 }
            return
        }
        if digits < 19 {
            mantissa = mantissa * 10 + digit
            digits += 1
            if afterPoint { exponent -= 1 }
        } else {
            digits += 1
            if !afterPoint { exponent += 1 }
        }
    }

    /// The C library's correctly rounded conversion of the number text at `start` (already checked).
    private func parseWithLibrary(from start: Int) -> Double {
        var end: UnsafeMutablePointer<CChar>? = nil
        let value = UnsafeRawPointer(bytes + start).withMemoryRebound(to: CChar.self, capacity: offset - start + 1) {
            strtod($0, &end)
        }
        if let end, UnsafeRawPointer(end) - UnsafeRawPointer(bytes) == offset { return value }
        // A locale with another decimal point stopped strtod early: Swift's parser is locale-free.
        return Double(String(decoding: UnsafeBufferPointer(start: bytes + start, count: offset - start), as: UTF8.self)) ?? .nan
    }

    private mutating func readKey() throws -> JSONKey {
        guard offset < count, bytes[offset] == UInt8(ascii: "\"") else { throw error("expected a member name") }
        // Member names are compared as written; the ones COCO uses have no escapes.
        let start = offset + 1
        try withStringBytes { _ in }
        return JSONKey(bytes: UnsafeBufferPointer(start: bytes + start, count: offset - 1 - start))
    }

    private mutating func readEscapedRest(into output: inout [UInt8]) throws {
        while true {
            // Copy the plain stretch up to the next quote or backslash at once.
            let stretch = offset
            while offset < count, bytes[offset] != UInt8(ascii: "\""), bytes[offset] != UInt8(ascii: "\\"), bytes[offset] >= 0x20 {
                offset += 1
            }
            output.append(contentsOf: UnsafeBufferPointer(start: bytes + stretch, count: offset - stretch))
            guard offset < count else { throw error("unterminated string") }
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                return
            case UInt8(ascii: "\\"):
                guard offset < count else { throw error("unterminated string") }
                let escape = bytes[offset]
                offset += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escape)
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "f"): output.append(0x0c)
                case UInt8(ascii: "n"): output.append(0x0a)
                case UInt8(ascii: "r"): output.append(0x0d)
                case UInt8(ascii: "t"): output.append(0x09)
                case UInt8(ascii: "u"): output.append(contentsOf: try readUnicodeEscape())
                default: throw error("invalid escape \\\(describe(escape))")
                }
            case 0..<0x20:
                throw error("control character in a string")
            default:
                output.append(byte)
            }
        }
    }

    /// `\uXXXX` (the `\u` read), with a following low surrogate when it is a high one; UTF-8 out.
    private mutating func readUnicodeEscape() throws -> [UInt8] {
        var scalar = try readHex4()
        if (0xD800..<0xDC00).contains(scalar), matches("\\u") {
            offset += 2
            let low = try readHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        return Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
    }

    private mutating func readHex4() throws -> UInt32 {
        guard offset + 4 <= count else { throw error("unterminated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[offset] | 0x20
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= Self.maximumDepth else { throw error("nested more than \(Self.maximumDepth) levels deep") }
    }

    private mutating func skipWhitespace() {
        while offset < count {
            switch bytes[offset] {
            case 0x20, 0x0a, 0x0d, 0x09: offset += 1
            default: return
            }
        }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard offset < count, bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    private mutating func expect(_ byte: UInt8) throws {
        skipWhitespace()
        guard consume(byte) else {
            throw error(offset < count ? "expected '\(describe(byte))', found \(describe(bytes[offset]))"
                                       : "expected '\(describe(byte))', found the end of the text")
        }
    }

    private func matches(_ word: String) -> Bool {
        let utf8 = Array(word.utf8)
        guard offset + utf8.count <= count else { return false }
        return utf8.indices.allSatisfy { bytes[offset + $0] == utf8[$0] }
    }

    private func describe(_ byte: UInt8) -> String {
        (0x21..<0x7f).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }
}

/// A member name as it appears in the text; compares with string literals.
struct JSONKey {
    let bytes: UnsafeBufferPointer<UInt8>

    static func ~= (name: StaticString, key: JSONKey) -> Bool {
        name.utf8CodeUnitCount == key.bytes.count
            && memcmp(name.utf8Start, key.bytes.baseAddress!, key.bytes.count) == 0
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Malformed JSON: where and what.
struct JSONReadError: Error {
    let offset: Int
    let line: Int
    let problem: String

    var description: String { "malformed JSON at line \(line) (byte \(offset)): \(problem)" }
}

/// A file's bytes followed by the NUL `JSONReader` needs, and the file's SHA-256.
struct JSONText {
    private let storage: [UInt8]
    let path: String
    private let digest: BackgroundDigest

    /// Reads the whole file.
    init(contentsOf path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw EvaluationError(path, "cannot open (\(String(cString: strerror(errno))))") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw EvaluationError(path, "is not a regular file")
        }
        let size = Int(status.st_size)
        var failure: Int32 = 0
        storage = [UInt8](unsafeUninitializedCapacity: size + 1) { buffer, initialised in
            var done = 0
            while done < size {
                let got = Glibc.read(descriptor, buffer.baseAddress! + done, size - done)
                if got < 0, errno == EINTR { continue }
                guard got > 0 else { failure = got < 0 ? errno : EIO; break }
                done += got
            }
            buffer[done] = 0
            initialised = done + 1
        }
        guard failure == 0, storage.count == size + 1 else {
            throw EvaluationError(path, "cannot read (\(String(cString: strerror(failure == 0 ? EIO : failure))))")
        }
        digest = BackgroundDigest(storage)
    }

    /// Text held in memory; `path` names it in errors.
    init(_ bytes: [UInt8], path: String) {
        storage = bytes + [0]
        self.path = path
        digest = BackgroundDigest(storage)
    }

    /// SHA-256 of the text (without the NUL); waits for the hashing started with the reading.
    var sha256: String { digest.value }

    /// Runs `body` on a reader of the text; malformed JSON becomes an error naming the file.
    func read<Result>(_ body: (inout JSONReader) throws -> Result) throws -> Result {
        try storage.withUnsafeBufferPointer { buffer in
            var reader = JSONReader(UnsafeBufferPointer(rebasing: buffer.dropLast()))
            do {
                return try body(&reader)
            } catch let error as JSONReadError {
                throw EvaluationError(path, error.description)
            }
        }
    }
}

/// SHA-256 of a buffer computed on another thread, so hashing overlaps the parsing.
private final class BackgroundDigest: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var digest = ""

    /// `storage` ends with the NUL that is not part of the text.
    init(_ storage: [UInt8]) {
        DispatchQueue.global().async { [self] in
            var hasher = SHA256Hasher()
            storage.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
            digest = hasher.hexDigest()
            done.signal()
        }
    }

    var value: String {
        done.wait()
        done.signal()
        return digest
    }
}

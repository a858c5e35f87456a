/// GPT-2's reversible byte-to-text alphabet: every byte value is drawn as one printable
/// character, so token strings never contain raw spaces or control characters
/// (space is `Ġ` U+0120, newline is `Ċ` U+010A).
enum ByteLevelAlphabet {
    /// The character standing for each byte value.
    static let scalarForByte: [Unicode.Scalar] = {
        var scalars = [Unicode.Scalar](repeating: " ", count: 256)
        var nextSubstitute: UInt32 = 256
        for byte in 0..<256 {
            // Printable Latin-1 stands for itself; the rest is moved to 256, 257, ... in byte order.
            let printsAsItself = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printsAsItself {
                scalars[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                scalars[byte] = Unicode.Scalar(nextSubstitute)!
                nextSubstitute += 1
            }
        }
        return scalars
    }()

    /// The byte a character stands for, or nil for characters outside the alphabet.
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = Int(scalar.value)
        guard value < byteForScalarValue.count, byteForScalarValue[value] >= 0 else { return nil }
        return UInt8(byteForScalarValue[value])
    }

    /// Indexed by scalar value (the alphabet ends at U+0143); -1 outside the alphabet.
    private static let byteForScalarValue: [Int16] = {
        let end = Int(scalarForByte.map(\.value).max()!) + 1
        var table = [Int16](repeating: -1, count: end)
        for (byte, scalar) in scalarForByte.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    /// The bytes a token stands for when decoding, as Hugging Face's ByteLevel decoder does:
    /// mapped back through the alphabet when every character belongs to it, otherwise the
    /// token's own UTF-8 (added tokens such as "<image>" are plain ASCII and map to themselves).
    static func decodedBytes(of token: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return Array(token.utf8) }
            bytes.append(byte)
        }
        return bytes
    }
}

import CImageCodecs

/// Writes 8-bit grayscale pixels (row-major, `width * height` values) as a PNG, atomically.
public func writePNG(gray pixels: [UInt8], width: Int, height: Int, to path: String) throws {
    try encodeAndWritePNG(pixels, width: width, height: height, channels: 1, to: path)
}

/// Writes a binary mask as a black-and-white PNG: 0 stays 0, any other value becomes 255,
/// so 0/1 masks are visible in an image viewer.
public func writeMaskPNG(_ mask: [UInt8], width: Int, height: Int, to path: String) throws {
    try encodeAndWritePNG(mask.map { $0 == 0 ? 0 : 255 }, width: width, height: height, channels: 1, to: path)
}

/// Writes an RGB image as a PNG, atomically.
public func writePNG(_ image: RGBImage, to path: String) throws {
    try encodeAndWritePNG(image.pixels, width: image.width, height: image.height, channels: 3, to: path)
}

private func encodeAndWritePNG(_ pixels: [UInt8], width: Int, height: Int, channels: Int, to path: String) throws {
    guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
        throw ImageError(path: path, kind: .invalidInput, reason: "cannot write a \(width)x\(height) PNG")
    }
    guard pixels.count == width * height * channels else {
        throw ImageError(path: path, kind: .invalidInput,
                         reason: "\(pixels.count) samples do not match \(width)x\(height)x\(channels)")
    }
    var encoded = VLEncodedBytes()
    let status = pixels.withUnsafeBufferPointer { buffer in
        vl_encode_png(buffer.baseAddress, Int32(width), Int32(height), Int32(channels), &encoded)
    }
    guard status == VL_CODEC_OK else {
        throw ImageError(path: path, kind: .writeFailed, reason: "PNG encoding failed: \(cString(encoded.message))")
    }
    defer { vl_codec_free(encoded.bytes) }
    try writeFileAtomically(UnsafeRawBufferPointer(start: encoded.bytes, count: encoded.size), toPath: path)
}

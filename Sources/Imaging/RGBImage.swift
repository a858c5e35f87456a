/// An 8-bit RGB image, row-major HWC: the sample of channel c at (x, y) is
/// `pixels[(y * width + x) * 3 + c]`.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "RGBImage: dimensions \(width)x\(height) must be positive")
        precondition(pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) samples for \(width)x\(height)x3")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

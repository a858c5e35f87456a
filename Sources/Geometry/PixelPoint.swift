/// A point in original-image pixels: x is the column, y the row. Pixel (c, r) covers
/// [c, c + 1) × [r, r + 1), so its centre is (c + 0.5, r + 0.5).
public struct PixelPoint: Sendable, Equatable, Hashable {
    public var x: Float
    public var y: Float

    public init(x: Float, y: Float) {
        self.x = x
        self.y = y
    }
}

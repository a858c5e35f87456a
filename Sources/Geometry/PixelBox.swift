/// An axis-aligned box in original-image pixels, (x0, y0) top-left and (x1, y1) bottom-right.
public struct PixelBox: Sendable, Equatable, Hashable {
    public var x0: Float
    public var y0: Float
    public var x1: Float
    public var y1: Float

    public init(x0: Float, y0: Float, x1: Float, y1: Float) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }
}

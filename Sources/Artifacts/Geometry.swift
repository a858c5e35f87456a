/// An image size, always (height, width) like the arrays that hold images.
public struct ImageSize: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var height: Int
    public var width: Int
    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }
    public var description: String { "\(height)x\(width)" }
}

/// A point in original-image pixels: x is the column, y the row.
public struct Point: Sendable, Equatable, Hashable {
    public var x: Float
    public var y: Float
    public init(x: Float, y: Float) {
        self.x = x
        self.y = y
    }
}

/// An axis-aligned box in original-image pixels, (x0, y0) top-left and (x1, y1) bottom-right.
public struct Box: Sendable, Equatable, Hashable {
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

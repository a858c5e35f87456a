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

/// A row-major height × width map of attention: an object's grid map (§7) or, resized to the
/// photo, its prompt map P (§8).
public struct AttentionMap: Sendable, Equatable {
    public let height: Int
    public let width: Int
    public var values: [Float]

    public init(height: Int, width: Int, values: [Float]) {
        precondition(height >= 0 && width >= 0 && values.count == height * width,
                     "AttentionMap: \(values.count) values for \(height) × \(width)")
        self.height = height
        self.width = width
        self.values = values
    }

    public init(zerosHeight height: Int, width: Int) {
        self.init(height: height, width: width, values: [Float](repeating: 0, count: height * width))
    }

    public subscript(row: Int, col: Int) -> Float {
        get { values[row * width + col] }
        set { values[row * width + col] = newValue }
    }

    /// (x − min) / (max − min); a constant map becomes all zeros. A division rather than a
    /// multiplication by the reciprocal, so that the maximum comes out exactly 1.
    public func minMaxNormalised() -> AttentionMap {
        guard let low = values.min(), let high = values.max(), high > low else {
            return AttentionMap(zerosHeight: height, width: width)
        }
        let range = high - low
        return AttentionMap(height: height, width: width, values: values.map { ($0 - low) / range })
    }
}

import TensorMath

/// The prompts for one object, in original-image pixels: points with labels, an optional box and
/// an optional low-resolution mask input.
public struct PromptSet: Sendable, Equatable {
    public static let maskInputShape = [256, 256]

    /// Object name, or "".
    public var name: String
    public var points: [PixelPoint]
    /// One per point: 1 foreground, 0 background.
    public var labels: [Int32]
    public var box: PixelBox?
    /// SAM low-resolution logits [256, 256] from an earlier prediction (cascaded refinement).
    public var maskInput: Tensor?
    /// False when the object's attention gave no candidate pixel: the set is then empty (never a
    /// guessed point) and the decoder skips it.
    public var localised: Bool

    public init(name: String = "", points: [PixelPoint] = [], labels: [Int32] = [], box: PixelBox? = nil,
                maskInput: Tensor? = nil, localised: Bool = true) {
        self.name = name
        self.points = points
        self.labels = labels
        self.box = box
        self.maskInput = maskInput
        self.localised = localised
    }

    /// Nothing to decode: no point and no box.
    public var isEmpty: Bool { points.isEmpty && box == nil }

    /// Describes a point or box corner outside the image (x in 0…width, y in 0…height), or nil.
    public func placementProblem(in size: ImageSize) -> String? {
        let width = Float(size.width), height = Float(size.height)
        let inside = { (x: Float, y: Float) in x >= 0 && x <= width && y >= 0 && y <= height }
        let bounds = "the \(size) image (x in 0…\(size.width), y in 0…\(size.height))"
        if let index = points.firstIndex(where: { !inside($0.x, $0.y) }) {
            return "point \(index) (\(points[index].x), \(points[index].y)) is outside \(bounds)"
        }
        if let box, !(inside(box.x0, box.y0) && inside(box.x1, box.y1)) {
            return "box (\(box.x0), \(box.y0), \(box.x1), \(box.y1)) is not inside \(bounds)"
        }
        return nil
    }

    /// Describes what is wrong, or nil when the set is valid.
    public func problem() -> String? {
        guard points.count == labels.count else { return "has \(points.count) points but \(labels.count) labels" }
        if let index = points.firstIndex(where: { !$0.x.isFinite || !$0.y.isFinite }) {
            return "point \(index) has a non-finite coordinate (\(points[index].x), \(points[index].y))"
        }
        if let index = labels.firstIndex(where: { $0 != 0 && $0 != 1 }) {
            return "point \(index) has label \(labels[index]) (expected 1 foreground or 0 background)"
        }
        if let box {
            guard [box.x0, box.y0, box.x1, box.y1].allSatisfy(\.isFinite) else {
                return "box has a non-finite coordinate (\(box.x0), \(box.y0), \(box.x1), \(box.y1))"
            }
            guard box.x0 <= box.x1, box.y0 <= box.y1 else {
                return "box (\(box.x0), \(box.y0), \(box.x1), \(box.y1)) has x1 < x0 or y1 < y0"
            }
        }
        if !localised && !(isEmpty && maskInput == nil) {
            return "is marked not localised but has prompts"
        }
        if let maskInput, maskInput.shape != Self.maskInputShape {
            return "mask input has shape \(maskInput.shape), expected \(Self.maskInputShape)"
        }
        return nil
    }
}

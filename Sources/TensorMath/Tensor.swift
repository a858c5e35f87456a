/// A dense float32 tensor in row-major (C) order.
///
/// Storage is a Swift array, so copies are cheap until written (copy on write).
/// Layout conventions follow the PyTorch code this project reproduces: images and
/// feature maps are CHW, token sequences are [tokens, channels], Linear weights are [out, in].
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "Tensor shape \(shape) does not match \(data.count) elements")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// Allocates without a meaningful initial value; `fill` must write every element.
    public init(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: shape.reduce(1, *)) { buffer, count in
            fill(buffer)
            count = buffer.count
        }
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// The sub-tensor at `index` along the first dimension.
    public subscript(index: Int) -> Tensor {
        let inner = Array(shape.dropFirst())
        let size = inner.reduce(1, *)
        return Tensor(shape: inner, data: Array(data[index * size ..< (index + 1) * size]))
    }

    /// Largest |a − b| divided by the largest |b|: the parity measure used by the reference bundles.
    /// Infinite when either tensor holds NaN or infinity (`max` would silently drop a NaN).
    public func relativeError(to reference: Tensor) -> Float {
        precondition(count == reference.count, "relativeError: \(shape) vs \(reference.shape)")
        if hasNonFinite || reference.hasNonFinite { return .infinity }
        var maxDiff: Float = 0, maxRef: Float = 0
        for i in 0..<count {
            maxDiff = max(maxDiff, abs(data[i] - reference.data[i]))
            maxRef = max(maxRef, abs(reference.data[i]))
        }
        return maxRef > 0 ? maxDiff / maxRef : maxDiff
    }

    public var hasNonFinite: Bool { data.contains { !$0.isFinite } }
}

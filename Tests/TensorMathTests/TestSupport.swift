import TensorMath
import TestSupport

/// A tensor of uniform values in `range`.
func randomTensor(_ shape: [Int], in range: ClosedRange<Float> = -1...1, seed: UInt64) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: range, using: &generator) })
}

/// Largest |a − b| over all elements, with b computed in double precision.
func maxAbsoluteDifference(_ a: Tensor, _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    return zip(a.data, b).reduce(0) { max($0, abs(Double($1.0) - $1.1)) }
}

import Foundation

/// A tensor of 16-bit floats — bfloat16 or IEEE float16 — kept as its checkpoint stores them and
/// widened to float32 only inside the kernels, so a bfloat16 model takes half the memory of its
/// float32 copy and its token-by-token decoding reads half the bytes.
///
/// Every 16-bit value is exactly a float32 value (for bfloat16 the widening is a shift), and
/// every product on a 16-bit matrix makes the same float32 operations in the same order as the
/// product on its float32 copy (`widened()`), so results are bit for bit those of widening the
/// weights up front: one token through the shared matrix–vector kernel (`multiplyRows`), several
/// through the very BLAS call the float32 matrix gets, on the matrix widened into reused scratch.
public struct HalfPrecisionTensor: Sendable {
    public enum Format: Sendable {
        case bfloat16, float16
    }

    public let format: Format
    public let shape: [Int]
    /// The elements' bit patterns, row-major.
    public let bits: [UInt16]

    public init(format: Format, shape: [Int], bits: [UInt16]) {
        precondition(shape.reduce(1, *) == bits.count, "HalfPrecisionTensor: shape \(shape) does not match \(bits.count) elements")
        self.format = format
        self.shape = shape
        self.bits = bits
    }

    public var count: Int { bits.count }
    /// As a matrix: the first dimension by all the others.
    public var rows: Int { shape.first ?? 1 }
    public var columns: Int { rows == 0 ? 0 : count / rows }

    /// The float32 copy (exact).
    public func widened() -> Tensor {
        Tensor(shape: shape) { out in widenRows(0 ..< rows, into: out.baseAddress!) }
    }

    /// Writes rows `range` as `range.count · columns` floats, split over the threads when large.
    func widenRows(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let width = columns
        bits.withUnsafeBufferPointer { source in
            parallelRanges(range.count, unitCost: width) { part in
                let from = source.baseAddress! + (range.lowerBound + part.lowerBound) * width
                let to = destination + part.lowerBound * width, count = part.count * width
                switch format {
                case .bfloat16: for i in 0 ..< count { to[i] = BFloat16Elements.widen(from[i]) }
                case .float16: for i in 0 ..< count { to[i] = Float16Elements.widen(from[i]) }
                }
            }
        }
    }

    /// Calls `body` with the whole tensor widened to float32, in scratch memory lent for the call
    /// and kept for the next (a fresh allocation would fault in its pages every time).
    func withWidened<Result>(_ body: (UnsafePointer<Float>) -> Result) -> Result {
        ScratchPool.shared.withBuffer(count: count) { buffer in
            widenRows(0 ..< rows, into: buffer)
            return body(buffer)
        }
    }

    /// out[i] = row (rows.lowerBound + i) · x, through the kernel float32 matrices use.
    func multiplyRows(_ range: Range<Int>, vector x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        bits.withUnsafeBufferPointer { source in
            let first = source.baseAddress! + range.lowerBound * columns
            switch format {
            case .bfloat16: TensorMath.multiplyRows(BFloat16Elements.self, first, rows: range.count, columns: columns, vector: x, into: out)
            case .float16: TensorMath.multiplyRows(Float16Elements.self, first, rows: range.count, columns: columns, vector: x, into: out)
            }
        }
    }

    /// The matrix whose row i is this one's row `order[i]`.
    func permutingRows(_ order: [Int]) -> HalfPrecisionTensor {
        let permuted = [UInt16](unsafeUninitializedCapacity: count) { out, initialized in
            bits.withUnsafeBufferPointer { copyRows(order, width: columns, from: $0.baseAddress!, to: out.baseAddress!) }
            initialized = count
        }
        return HalfPrecisionTensor(format: format, shape: shape, bits: permuted)
    }
}

/// Float buffers lent to one caller at a time and kept for the next, up to `keptCapacity` floats
/// each (16 MB, more than a SigLIP layer's largest matrix): a larger buffer (SmolVLM's connector
/// widens to 28 MB) goes back to the system after its call instead of staying resident through
/// the decoding, when memory is at its peak.
private final class ScratchPool: @unchecked Sendable {
    static let shared = ScratchPool()
    private static let keptCapacity = 1 << 22

    private let lock = NSLock()
    private var idle: [UnsafeMutableBufferPointer<Float>] = []

    func withBuffer<Result>(count: Int, _ body: (UnsafeMutablePointer<Float>) -> Result) -> Result {
        var buffer = lock.withLock { idle.popLast() } ?? UnsafeMutableBufferPointer(start: nil, count: 0)
        if buffer.count < count {
            buffer.deallocate()
            buffer = .allocate(capacity: count)
        }
        defer {
            if buffer.count <= Self.keptCapacity {
                lock.withLock { idle.append(buffer) }
            } else {
                buffer.deallocate()
            }
        }
        return body(buffer.baseAddress!)
    }
}

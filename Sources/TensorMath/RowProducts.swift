// The single-token matrix–vector kernel: each output is one weight row times the input vector.
// Token-by-token decoding is bound by reading the weights, so 16-bit rows are widened in
// registers as they are read (half the bytes of float32) and never written out as floats.
//
// Every storage format runs the same loop, specialised: each row is summed in sixteen lanes
// (lane l takes the k ≡ l mod 16, the last vector zero-padded), the lanes then folded as a tree.
// A 16-bit row therefore gives exactly the float32 sum of its widened copy.

import CBLAS

/// Sixteen consecutive stored weights as floats.
protocol WidenedElement {
    associatedtype Stored
    static func widen(_ value: Stored) -> Float
}

extension WidenedElement {
    /// Elements p[0 ..< count] widened, zeros in the lanes beyond `count`. Written as a plain loop,
    /// which LLVM turns into one widening load (`vpmovzxwd` and a shift for bfloat16); Swift's
    /// SIMD conversions are not inlined.
    @inline(__always)
    static func vector(_ p: UnsafePointer<Stored>, count: Int = lanes) -> FloatVector {
        var v = FloatVector()
        if count >= lanes {
            for lane in 0 ..< lanes { v[lane] = widen(p[lane]) }
        } else {
            for lane in 0 ..< count { v[lane] = widen(p[lane]) }
        }
        return v
    }
}

enum Float32Elements: WidenedElement {
    @inline(__always) static func widen(_ value: Float) -> Float { value }
}

enum BFloat16Elements: WidenedElement {
    @inline(__always) static func widen(_ value: UInt16) -> Float { Float(bitPattern: UInt32(value) << 16) }
}

enum Float16Elements: WidenedElement {
    @inline(__always) static func widen(_ value: UInt16) -> Float { Float(Float16(bitPattern: value)) }
}

/// out[i] = Σₖ w[i·columns + k] · x[k] for i < rows.
func multiplyRows<Element: WidenedElement>(_: Element.Type, _ w: UnsafePointer<Element.Stored>, rows: Int, columns: Int,
                                           vector x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    let full = columns / lanes * lanes, tail = columns - full
    let size = MemoryLayout<Element.Stored>.stride
    var row = 0
    // Four rows at a time share each vector of x.
    while row + 4 <= rows {
        let w0 = w + row * columns, w1 = w0 + columns, w2 = w1 + columns, w3 = w2 + columns
        // The four rows after the next four, contiguous: each step asks for as many of their bytes
        // as it reads of these. A thread's loads alone keep too few cache lines in flight: this
        // doubles the bandwidth one thread draws from memory (10 → 21 GB/s here).
        let ahead = UnsafeRawPointer(row + 12 <= rows ? w0 + 8 * columns : w0)
        var s0 = FloatVector(), s1 = s0, s2 = s0, s3 = s0
        var k = 0
        while k < full {
            for line in stride(from: 0, to: 4 * lanes * size, by: 64) { vlsam_prefetch(ahead + 4 * k * size + line) }
            let xk = loadVector(x + k, count: lanes)
            s0 = s0.addingProduct(Element.vector(w0 + k), xk)
            s1 = s1.addingProduct(Element.vector(w1 + k), xk)
            s2 = s2.addingProduct(Element.vector(w2 + k), xk)
            s3 = s3.addingProduct(Element.vector(w3 + k), xk)
            k += lanes
        }
        if tail > 0 {
            let xk = loadVector(x + full, count: tail)
            s0 = s0.addingProduct(Element.vector(w0 + full, count: tail), xk)
            s1 = s1.addingProduct(Element.vector(w1 + full, count: tail), xk)
            s2 = s2.addingProduct(Element.vector(w2 + full, count: tail), xk)
            s3 = s3.addingProduct(Element.vector(w3 + full, count: tail), xk)
        }
        out[row] = laneSum(s0)
        out[row + 1] = laneSum(s1)
        out[row + 2] = laneSum(s2)
        out[row + 3] = laneSum(s3)
        row += 4
    }
    while row < rows {
        let w0 = w + row * columns
        var s0 = FloatVector()
        var k = 0
        while k < full {
            s0 = s0.addingProduct(Element.vector(w0 + k), loadVector(x + k, count: lanes))
            k += lanes
        }
        if tail > 0 { s0 = s0.addingProduct(Element.vector(w0 + full, count: tail), loadVector(x + full, count: tail)) }
        out[row] = laneSum(s0)
        row += 1
    }
}

/// The lanes' sum as a tree of halves (four vector additions; `sum()` adds lane by lane).
@inline(__always)
private func laneSum(_ v: FloatVector) -> Float {
    let eight = v.lowHalf + v.highHalf, four = eight.lowHalf + eight.highHalf, two = four.lowHalf + four.highHalf
    return two[0] + two[1]
}

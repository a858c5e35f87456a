/// PyTorch's bilinear resize with align_corners=False and no antialiasing, with the border rule of
/// §8: where both taps are the same cell (the right and bottom borders) the result is that cell's
/// value exactly, so the flat border plateaus come out exactly equal and the row-major tie rule
/// of point sampling sees them as ties.
///
/// Separable: each input row is interpolated along x, then each output row blends two of those.
/// Taps are precomputed per axis; values are float32.
public struct BilinearUpsampling: Sendable {
    /// One axis: output index o reads input `lower[o]` and `upper[o]` with fraction `fraction[o]`.
    struct Taps: Sendable {
        var lower: [Int]
        var upper: [Int]
        var fraction: [Float]

        /// src = (o + 0.5) · in / out − 0.5, evaluated as ((2o + 1) · in − out) / (2 · out): an
        /// exact integer numerator and one rounding. Clamped below at 0; the right tap is clamped
        /// at in − 1, and where it equals the left tap the fraction is 0.
        init(input: Int, output: Int) {
            lower = []
            upper = []
            fraction = []
            for o in 0..<output {
                let source = max(0, Double((2 * o + 1) * input - output) / Double(2 * output))
                let left = min(Int(source), input - 1)
                let right = min(left + 1, input - 1)
                lower.append(left)
                upper.append(right)
                fraction.append(left == right ? 0 : Float(source - Double(left)))
            }
        }
    }

    public let inputHeight: Int, inputWidth: Int
    public let outputHeight: Int, outputWidth: Int
    let rows: Taps, cols: Taps

    public init(inputHeight: Int, inputWidth: Int, outputHeight: Int, outputWidth: Int) {
        precondition(inputHeight > 0 && inputWidth > 0 && outputHeight >= 0 && outputWidth >= 0,
                     "BilinearUpsampling: \(inputHeight) × \(inputWidth) → \(outputHeight) × \(outputWidth)")
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.outputHeight = outputHeight
        self.outputWidth = outputWidth
        rows = Taps(input: inputHeight, output: outputHeight)
        cols = Taps(input: inputWidth, output: outputWidth)
    }

    /// v0 + λ · (v1 − v0): equal to v0 wherever v1 = v0 or λ = 0, unlike (1 − λ) · v0 + λ · v1.
    public func apply(_ map: AttentionMap) -> AttentionMap {
        precondition(map.height == inputHeight && map.width == inputWidth,
                     "BilinearUpsampling: a \(map.height) × \(map.width) map, expected \(inputHeight) × \(inputWidth)")
        let w = outputWidth
        var across = [Float](repeating: 0, count: inputHeight * w)
        map.values.withUnsafeBufferPointer { v in
            across.withUnsafeMutableBufferPointer { a in
                for r in 0..<inputHeight {
                    let source = v.baseAddress! + r * inputWidth, target = a.baseAddress! + r * w
                    for x in 0..<w {
                        let v0 = source[cols.lower[x]], v1 = source[cols.upper[x]]
                        target[x] = v0 + cols.fraction[x] * (v1 - v0)
                    }
                }
            }
        }
        let values = [Float](unsafeUninitializedCapacity: outputHeight * w) { out, initialised in
            across.withUnsafeBufferPointer { a in
                for y in 0..<outputHeight {
                    let top = a.baseAddress! + rows.lower[y] * w, bottom = a.baseAddress! + rows.upper[y] * w
                    let target = out.baseAddress! + y * w, lambda = rows.fraction[y]
                    for x in 0..<w { target[x] = top[x] + lambda * (bottom[x] - top[x]) }
                }
            }
            initialised = outputHeight * w
        }
        return AttentionMap(height: outputHeight, width: w, values: values)
    }
}

extension AttentionMap {
    /// This map resized bilinearly (§8's rule) to height × width.
    public func resized(height: Int, width: Int) -> AttentionMap {
        BilinearUpsampling(inputHeight: self.height, inputWidth: self.width, outputHeight: height, outputWidth: width).apply(self)
    }
}

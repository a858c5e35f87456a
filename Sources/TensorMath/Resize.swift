// Resizes that reproduce PyTorch's CPU `F.interpolate(..., align_corners=False)` for float32,
// down to the order of the floating-point operations: PyTorch interpolates along the width
// first (one float32 value per source row tap), then combines those rows with the height
// weights, accumulating tap by tap. Doing the same separably gives the same roundings.

/// The interpolation of `F.interpolate(..., align_corners=False)` without antialiasing.
public enum ResizeFilter: Sendable {
    case bilinear
    /// Keys cubic with A = −0.75 and source indices clamped to the border.
    case bicubic
}

/// `F.interpolate(x, (height, width), mode="bilinear", align_corners=False)` without antialiasing.
/// `x` is [..., H, W]; every leading index (channels, batch) is resized independently.
public func resizeBilinear(_ x: Tensor, height: Int, width: Int) -> Tensor {
    resize(x, height: height, width: width, filter: .bilinear)
}

/// `F.interpolate(x, (height, width), mode="bicubic", align_corners=False)`. `x` is [..., H, W].
public func resizeBicubic(_ x: Tensor, height: Int, width: Int) -> Tensor {
    resize(x, height: height, width: width, filter: .bicubic)
}

/// `F.interpolate` of every [H, W] plane of `x` ([..., H, W]) to `height` x `width`.
public func resize(_ x: Tensor, height: Int, width: Int, filter: ResizeFilter) -> Tensor {
    let resize = SeparableResize(x, height: height, width: width, filter: filter)
    guard resize.resizesHeight else { return Tensor(shape: resize.outputShape, data: resize.widthPassed) }
    return Tensor(shape: resize.outputShape) { output in
        resize.forEachRowBlock { _, rows, computeRow in
            for r in rows { computeRow(r, output.baseAddress! + r * width) }
        }
    }
}

/// `resize` without storing the result: each output row is handed to `body(plane, row, values)`
/// as soon as it is computed, on several threads at once. For consumers that reduce the planes
/// (thresholds, counts) and need not keep them, this saves writing and re-reading them.
public func forEachResizedRow(_ x: Tensor, height: Int, width: Int, filter: ResizeFilter,
                              _ body: (_ plane: Int, _ row: Int, _ values: UnsafeBufferPointer<Float>) -> Void) {
    let resize = SeparableResize(x, height: height, width: width, filter: filter)
    guard resize.resizesHeight else {
        resize.widthPassed.withUnsafeBufferPointer { rows in
            for r in 0..<(resize.planes * height) {
                body(r / height, r % height, UnsafeBufferPointer(rebasing: rows[r * width ..< (r + 1) * width]))
            }
        }
        return
    }
    var scratch = [Float](repeating: 0, count: computeThreads() * width)
    scratch.withUnsafeMutableBufferPointer { scratch in
        resize.forEachRowBlock { worker, rows, computeRow in
            let row = scratch.baseAddress! + worker * width
            for r in rows {
                computeRow(r, row)
                body(r / height, r % height, UnsafeBufferPointer(start: row, count: width))
            }
        }
    }
}

/// The top-left `height` x `width` corner of every [H, W] plane of `x` ([..., H, W]).
public func crop(_ x: Tensor, height: Int, width: Int) -> Tensor {
    precondition(x.rank >= 2, "crop: expected [..., H, W], got \(x.shape)")
    let inputHeight = x.shape[x.rank - 2], inputWidth = x.shape[x.rank - 1]
    precondition(height > 0 && width > 0 && height <= inputHeight && width <= inputWidth,
                 "crop: \(height)x\(width) does not fit in \(x.shape)")
    let planes = x.count / (inputHeight * inputWidth)
    return Tensor(shape: Array(x.shape.dropLast(2)) + [height, width]) { output in
        x.data.withUnsafeBufferPointer { input in
            for plane in 0..<planes {
                for row in 0..<height {
                    let source = input.baseAddress! + (plane * inputHeight + row) * inputWidth
                    let target = output.baseAddress! + (plane * height + row) * width
                    target.update(from: source, count: width)
                }
            }
        }
    }
}

/// For one axis, the `tapCount` source indices and weights of every output index.
private struct ResizeTaps {
    let tapCount: Int  // 2 (linear) or 4 (cubic)
    var indices: [Int] = []   // [output * tapCount + tap]
    var weights: [Float] = []

    init(tapCount: Int, outputSize: Int) {
        self.tapCount = tapCount
        indices.reserveCapacity(outputSize * tapCount)
        weights.reserveCapacity(outputSize * tapCount)
    }

    /// PyTorch's source coordinate for align_corners=False, scale·(i + 0.5) − 0.5, in float32
    /// with the scale computed as in/out in float32 (no fused multiply-add).
    private static func sourceCoordinate(_ i: Int, inputSize: Int, outputSize: Int) -> Float {
        let scale = Float(inputSize) / Float(outputSize)
        return scale * (Float(i) + 0.5) - 0.5
    }

    static func bilinear(inputSize: Int, outputSize: Int) -> ResizeTaps {
        var taps = ResizeTaps(tapCount: 2, outputSize: outputSize)
        for i in 0..<outputSize {
            let source = max(sourceCoordinate(i, inputSize: inputSize, outputSize: outputSize), 0)
            let index = min(Int(source.rounded(.down)), inputSize - 1)
            let lambda = min(max(source - Float(index), 0), 1)
            taps.indices.append(index)
            taps.indices.append(index < inputSize - 1 ? index + 1 : index)
            taps.weights.append(1 - lambda)
            taps.weights.append(lambda)
        }
        return taps
    }

    static func bicubic(inputSize: Int, outputSize: Int) -> ResizeTaps {
        var taps = ResizeTaps(tapCount: 4, outputSize: outputSize)
        let a: Float = -0.75
        // Keys' cubic convolution kernel for |x| <= 1 and for 1 < |x| < 2, in PyTorch's form.
        func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        for i in 0..<outputSize {
            // Not clamped at 0 for cubic: the taps left of the border are clamped instead.
            let source = sourceCoordinate(i, inputSize: inputSize, outputSize: outputSize)
            let index = min(Int(source.rounded(.down)), inputSize - 1)
            let t = min(max(source - Float(index), 0), 1)
            for tap in 0..<4 {
                taps.indices.append(min(max(index - 1 + tap, 0), inputSize - 1))
            }
            taps.weights.append(far(t + 1))
            taps.weights.append(near(t))
            taps.weights.append(near(1 - t))
            taps.weights.append(far(1 - t + 1))
        }
        return taps
    }
}

/// A separable resize whose width pass is done; the height pass produces rows on demand.
private struct SeparableResize {
    let planes: Int, inputHeight: Int, height: Int, width: Int
    let outputShape: [Int]
    /// [planes, inputHeight, width]: the input resampled along the width only.
    let widthPassed: [Float]
    /// nil when the height does not change.
    let rowTaps: ResizeTaps?

    var resizesHeight: Bool { rowTaps != nil }

    init(_ x: Tensor, height: Int, width: Int, filter: ResizeFilter) {
        precondition(x.rank >= 2, "resize: expected [..., H, W], got \(x.shape)")
        precondition(height > 0 && width > 0, "resize: target \(height)x\(width) must be positive")
        let inputHeight = x.shape[x.rank - 2], inputWidth = x.shape[x.rank - 1]
        precondition(inputHeight > 0 && inputWidth > 0, "resize: empty input \(x.shape)")
        let planes = x.count / (inputHeight * inputWidth)
        let makeTaps = filter == .bilinear ? ResizeTaps.bilinear : ResizeTaps.bicubic
        self.planes = planes
        self.inputHeight = inputHeight
        self.height = height
        self.width = width
        outputShape = Array(x.shape.dropLast(2)) + [height, width]
        // An axis whose size does not change has weights (1, 0…): skipping it is exact for finite values.
        if width == inputWidth {
            widthPassed = x.data
        } else {
            let columnTaps = makeTaps(inputWidth, width)
            widthPassed = [Float](unsafeUninitializedCapacity: planes * inputHeight * width) { output, count in
                x.data.withUnsafeBufferPointer { input in
                    resampleWidth(input.baseAddress!, rows: planes * inputHeight, inputWidth: inputWidth,
                                  taps: columnTaps, outputWidth: width, into: output.baseAddress!)
                }
                count = planes * inputHeight * width
            }
        }
        rowTaps = height == inputHeight ? nil : makeTaps(inputHeight, height)
    }

    /// Splits the output rows (plane-major: row r is row r % height of plane r / height) into
    /// blocks over the cores; `body(worker, rows, computeRow)` gets `computeRow(r, target)`,
    /// which writes the `width` values of row r to `target`.
    func forEachRowBlock(_ body: (_ worker: Int, _ rows: Range<Int>,
                                  _ computeRow: (Int, UnsafeMutablePointer<Float>) -> Void) -> Void) {
        guard let taps = rowTaps else { preconditionFailure("resize: the height pass of an unchanged height") }
        let rows = planes * height
        let blocks = min(rows, max(1, (rows * width * taps.tapCount) >> 16), 4 * computeThreads())
        widthPassed.withUnsafeBufferPointer { input in
        taps.indices.withUnsafeBufferPointer { indices in
        taps.weights.withUnsafeBufferPointer { weights in
            let computeRow = { (r: Int, target: UnsafeMutablePointer<Float>) in
                let plane = input.baseAddress! + (r / height) * inputHeight * width
                let base = (r % height) * taps.tapCount
                combineRows(plane, tapCount: taps.tapCount, indices: indices.baseAddress! + base,
                            weights: weights.baseAddress! + base, width: width, into: target)
            }
            parallelFor(blocks) { worker, block in
                body(worker, rows * block / blocks ..< rows * (block + 1) / blocks, computeRow)
            }
        }}}
    }
}

/// Width pass: output[r, j] = Σ_t input[r, index(j, t)] · weight(j, t), accumulated tap by tap.
private func resampleWidth(_ input: UnsafePointer<Float>, rows: Int, inputWidth: Int, taps: ResizeTaps,
                           outputWidth: Int, into output: UnsafeMutablePointer<Float>) {
    taps.indices.withUnsafeBufferPointer { indexBuffer in
        taps.weights.withUnsafeBufferPointer { weightBuffer in
            let indices = indexBuffer.baseAddress!, weights = weightBuffer.baseAddress!
            parallelRanges(rows, unitCost: outputWidth * taps.tapCount) { range in
                for r in range {
                    let source = input + r * inputWidth, target = output + r * outputWidth
                    // Literal tap counts let the compiler unroll the tap loop.
                    if taps.tapCount == 2 {
                        gatherRow(source, tapCount: 2, indices: indices, weights: weights, count: outputWidth, into: target)
                    } else {
                        gatherRow(source, tapCount: 4, indices: indices, weights: weights, count: outputWidth, into: target)
                    }
                }
            }
        }
    }
}

@inline(__always)
private func gatherRow(_ source: UnsafePointer<Float>, tapCount: Int, indices: UnsafePointer<Int>,
                       weights: UnsafePointer<Float>, count: Int, into target: UnsafeMutablePointer<Float>) {
    for j in 0..<count {
        let base = j * tapCount
        var sum = source[indices[base]] * weights[base]
        for t in 1..<tapCount { sum += source[indices[base + t]] * weights[base + t] }
        target[j] = sum
    }
}

/// One row of the height pass: Σ_t weight_t · plane row index_t, accumulated tap by tap.
private func combineRows(_ plane: UnsafePointer<Float>, tapCount: Int, indices: UnsafePointer<Int>,
                         weights: UnsafePointer<Float>, width: Int, into target: UnsafeMutablePointer<Float>) {
    if tapCount == 2 {
        let row0 = plane + indices[0] * width, row1 = plane + indices[1] * width
        let w0 = weights[0], w1 = weights[1]
        for i in 0..<width { target[i] = row0[i] * w0 + row1[i] * w1 }
    } else {
        let row0 = plane + indices[0] * width, row1 = plane + indices[1] * width
        let row2 = plane + indices[2] * width, row3 = plane + indices[3] * width
        let w0 = weights[0], w1 = weights[1], w2 = weights[2], w3 = weights[3]
        for i in 0..<width { target[i] = row0[i] * w0 + row1[i] * w1 + row2[i] * w2 + row3[i] * w3 }
    }
}

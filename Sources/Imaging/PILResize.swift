import Dispatch

/// Resizes like Pillow's `Image.resize(size, Image.BILINEAR)` on an RGB image, bit for bit:
/// an antialiased triangle filter whose support widens with the downscale factor, applied as
/// two separable passes (horizontal first) in 22-bit fixed point with a uint8 intermediate.
/// This is what SAM's `ResizeLongestSide` does, so the encoder sees exactly the same pixels.
public func resizePILBilinear(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    precondition(width > 0 && height > 0, "resizePILBilinear: target \(width)x\(height) must be positive")
    var pixels = image.pixels
    var currentWidth = image.width
    if width != image.width {
        pixels = resampleRows(pixels, width: image.width, height: image.height,
                              taps: PILTaps(inputSize: image.width, outputSize: width))
        currentWidth = width
    }
    if height != image.height {
        pixels = resampleColumns(pixels, rowLength: currentWidth * 3,
                                 taps: PILTaps(inputSize: image.height, outputSize: height))
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// Fixed-point filter taps for one axis: output index i reads `count[i]` consecutive inputs
/// from `first[i]` with weights `weights[i * stride ..< i * stride + count[i]]`.
private struct PILTaps {
    static let precisionBits = 22
    var first: [Int]
    var count: [Int]
    var weights: [Int32]
    var stride: Int

    init(inputSize: Int, outputSize: Int) {
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = filterScale  // the triangle filter reaches ±1 before scaling
        stride = Int(support.rounded(.up)) * 2 + 1
        first = [Int](repeating: 0, count: outputSize)
        count = [Int](repeating: 0, count: outputSize)
        weights = [Int32](repeating: 0, count: outputSize * stride)
        var raw = [Double](repeating: 0, count: stride)
        let inverseFilterScale = 1 / filterScale  // Pillow multiplies by the reciprocal
        for i in 0..<outputSize {
            let center = (Double(i) + 0.5) * scale
            // Int(...) truncates toward zero like Pillow's C cast.
            let lower = max(Int(center - support + 0.5), 0)
            let upper = min(Int(center + support + 0.5), inputSize)
            var sum = 0.0
            for x in lower..<upper {
                let w = max(0, 1 - abs((Double(x) - center + 0.5) * inverseFilterScale))
                raw[x - lower] = w
                sum += w
            }
            for x in lower..<upper {
                let normalised = sum != 0 ? raw[x - lower] / sum : raw[x - lower]
                // Weights are never negative, so this rounds half away from zero.
                weights[i * stride + x - lower] = Int32(0.5 + normalised * Double(1 << Self.precisionBits))
            }
            first[i] = lower
            count[i] = upper - lower
        }
    }

    @inline(__always)
    static func clip(_ accumulator: Int32) -> UInt8 {
        UInt8(clamping: accumulator >> Int32(precisionBits))
    }

    static let rounding = Int32(1 << (precisionBits - 1))
}

/// Runs `body` over `0..<count` in contiguous ranges, spread over the cores.
private func forEachRange(count: Int, _ body: (Range<Int>) -> Void) {
    let chunks = min(count, 16)
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        body(count * chunk / chunks ..< count * (chunk + 1) / chunks)
    }
}

/// Horizontal pass: every row of an RGB image resampled to `taps.first.count` pixels.
private func resampleRows(_ pixels: [UInt8], width: Int, height: Int, taps: PILTaps) -> [UInt8] {
    let outputWidth = taps.first.count
    return [UInt8](unsafeUninitializedCapacity: outputWidth * height * 3) { output, initialised in
        pixels.withUnsafeBufferPointer { input in
            taps.weights.withUnsafeBufferPointer { weights in
                forEachRange(count: height) { rows in
                    for y in rows {
                        let row = input.baseAddress! + y * width * 3
                        let target = output.baseAddress! + y * outputWidth * 3
                        for x in 0..<outputWidth {
                            var red = PILTaps.rounding, green = PILTaps.rounding, blue = PILTaps.rounding
                            let source = row + taps.first[x] * 3
                            let kernel = weights.baseAddress! + x * taps.stride
                            for k in 0..<taps.count[x] {
                                let w = kernel[k]
                                red &+= Int32(source[3 * k]) &* w
                                green &+= Int32(source[3 * k + 1]) &* w
                                blue &+= Int32(source[3 * k + 2]) &* w
                            }
                            target[3 * x] = PILTaps.clip(red)
                            target[3 * x + 1] = PILTaps.clip(green)
                            target[3 * x + 2] = PILTaps.clip(blue)
                        }
                    }
                }
            }
        }
        initialised = outputWidth * height * 3
    }
}

/// Vertical pass: rows of `rowLength` samples combined into `taps.first.count` output rows.
private func resampleColumns(_ pixels: [UInt8], rowLength: Int, taps: PILTaps) -> [UInt8] {
    let outputHeight = taps.first.count
    return [UInt8](unsafeUninitializedCapacity: outputHeight * rowLength) { output, initialised in
        pixels.withUnsafeBufferPointer { input in
            forEachRange(count: outputHeight) { rows in
                var accumulator = [Int32](repeating: 0, count: rowLength)
                accumulator.withUnsafeMutableBufferPointer { sums in
                    for y in rows {
                        for i in 0..<rowLength { sums[i] = PILTaps.rounding }
                        for k in 0..<taps.count[y] {
                            let w = taps.weights[y * taps.stride + k]
                            let source = input.baseAddress! + (taps.first[y] + k) * rowLength
                            for i in 0..<rowLength { sums[i] &+= Int32(source[i]) &* w }
                        }
                        let target = output.baseAddress! + y * rowLength
                        for i in 0..<rowLength { target[i] = PILTaps.clip(sums[i]) }
                    }
                }
            }
        }
        initialised = outputHeight * rowLength
    }
}

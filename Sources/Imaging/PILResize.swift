import Dispatch
import Foundation

/// A Pillow resampling filter, with Pillow's kernels and supports (`Image.Resampling`).
public enum PILResampleFilter: Sendable, Equatable, CaseIterable {
    /// Triangle kernel, support 1 (`Image.BILINEAR`, code 2).
    case bilinear
    /// Keys cubic kernel with a = −0.5, support 2 (`Image.BICUBIC`, code 3).
    case bicubic
    /// Lanczos-3, `sinc(x)·sinc(x/3)` for |x| < 3 (`Image.LANCZOS`, code 1).
    case lanczos

    /// The filter for Pillow's numeric resample code, as stored in Hugging Face processor
    /// configs (`"resample": 1`); nil for the filters this resampler does not implement
    /// (0 nearest, 4 box, 5 hamming) and for unknown codes.
    public init?(pillowCode: Int) {
        switch pillowCode {
        case 1: self = .lanczos
        case 2: self = .bilinear
        case 3: self = .bicubic
        default: return nil
        }
    }

    /// Half-width of the kernel at scale 1.
    var support: Double {
        switch self {
        case .bilinear: return 1
        case .bicubic: return 2
        case .lanczos: return 3
        }
    }

    /// The kernel value at `x`, written as Pillow writes it so the doubles agree to the last bit.
    func weight(at x: Double) -> Double {
        switch self {
        case .bilinear:
            return max(0, 1 - abs(x))
        case .bicubic:
            let a = -0.5, t = abs(x)
            if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
            if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
            return 0
        case .lanczos:
            return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0
        }
    }

    private func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let phase = x * Double.pi
        return sin(phase) / phase
    }
}

/// Resizes like Pillow's `Image.resize(size, filter)` on an RGB image, bit for bit: an
/// antialiased kernel whose support widens with the downscale factor, applied as two separable
/// passes (horizontal first, each skipped when its size does not change) in 22-bit fixed point,
/// rounded and clipped to uint8 after each pass.
public func resizePIL(_ image: RGBImage, width: Int, height: Int, filter: PILResampleFilter) -> RGBImage {
    precondition(width > 0 && height > 0, "resizePIL: target \(width)x\(height) must be positive")
    var pixels = image.pixels
    var currentWidth = image.width
    if width != image.width {
        pixels = resampleRows(pixels, width: image.width, height: image.height,
                              taps: PILTaps(inputSize: image.width, outputSize: width, filter: filter))
        currentWidth = width
    }
    if height != image.height {
        pixels = resampleColumns(pixels, rowLength: currentWidth * 3,
                                 taps: PILTaps(inputSize: image.height, outputSize: height, filter: filter))
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// Pillow's `Image.resize(size, Image.BILINEAR)`: what SAM's `ResizeLongestSide` does, so the
/// encoder sees exactly the same pixels.
public func resizePILBilinear(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    resizePIL(image, width: width, height: height, filter: .bilinear)
}

/// Fixed-point filter taps for one axis: output index i reads `count[i]` consecutive inputs
/// from `first[i]` with weights `weights[i * stride ..< i * stride + count[i]]`.
private struct PILTaps {
    static let precisionBits = 22  // Pillow's PRECISION_BITS = 32 − 8 − 2
    var first: [Int]
    var count: [Int]
    var weights: [Int32]
    var stride: Int

    init(inputSize: Int, outputSize: Int, filter: PILResampleFilter) {
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        stride = Int(support.rounded(.up)) * 2 + 1
        first = [Int](repeating: 0, count: outputSize)
        count = [Int](repeating: 0, count: outputSize)
        weights = [Int32](repeating: 0, count: outputSize * stride)
        var raw = [Double](repeating: 0, count: stride)
        let inverseFilterScale = 1 / filterScale  // Pillow multiplies by the reciprocal
        let one = Double(1 << Self.precisionBits)
        for i in 0..<outputSize {
            let center = (Double(i) + 0.5) * scale
            // Int(...) truncates toward zero like Pillow's C cast.
            let lower = max(Int(center - support + 0.5), 0)
            let upper = min(Int(center + support + 0.5), inputSize)
            var sum = 0.0
            for x in lower..<upper {
                let w = filter.weight(at: (Double(x) - center + 0.5) * inverseFilterScale)
                raw[x - lower] = w
                sum += w
            }
            for x in lower..<upper {
                let normalised = sum != 0 ? raw[x - lower] / sum : raw[x - lower]
                // Round half away from zero, through the same truncating cast as Pillow.
                weights[i * stride + x - lower] = normalised < 0
                    ? Int32(-0.5 + normalised * one) : Int32(0.5 + normalised * one)
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

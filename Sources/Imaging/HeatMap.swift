/// Pictures a person can read at a glance: an attention map over its photo, and prompt points.

/// Viridis (matplotlib's perceptually uniform colormap), sampled at nine evenly spaced stops
/// and interpolated linearly between them.
private let viridisStops: [SIMD3<Float>] = [
    SIMD3(68, 1, 84), SIMD3(71, 44, 122), SIMD3(59, 81, 139), SIMD3(44, 113, 142), SIMD3(33, 144, 141),
    SIMD3(39, 173, 129), SIMD3(92, 200, 99), SIMD3(170, 220, 50), SIMD3(253, 231, 37),
]

/// The viridis colour of `value` in [0, 1] (clamped).
public func viridis(_ value: Float) -> SIMD3<Float> {
    let position = min(max(value, 0), 1) * Float(viridisStops.count - 1)
    let lower = min(Int(position), viridisStops.count - 2)
    let t = position - Float(lower)
    return viridisStops[lower] + t * (viridisStops[lower + 1] - viridisStops[lower])
}

/// The photo with `values` (one per pixel, row-major, in [0, 1]) laid over it in viridis. Strong
/// attention is more opaque, so the photo stays visible where the model did not look.
public func heatMapOverlay(_ photo: RGBImage, values: [Float]) -> RGBImage {
    precondition(values.count == photo.width * photo.height, "heatMapOverlay: \(values.count) values for \(photo.width)x\(photo.height)")
    var pixels = photo.pixels
    pixels.withUnsafeMutableBufferPointer { out in
        for i in values.indices {
            let value = min(max(values[i], 0), 1), opacity = 0.25 + 0.45 * value
            let colour = viridis(value)
            for c in 0..<3 {
                let blended = (1 - opacity) * Float(out[3 * i + c]) + opacity * colour[c]
                out[3 * i + c] = UInt8(min(max(blended.rounded(), 0), 255))
            }
        }
    }
    return RGBImage(width: photo.width, height: photo.height, pixels: pixels)
}

/// Draws a filled disc of `colour` with a white rim, centred at (x, y) in pixel coordinates.
public func drawMarker(on image: inout RGBImage, x: Float, y: Float, radius: Float, colour: SIMD3<UInt8>) {
    let rim = radius + max(2, radius / 3)
    let x0 = max(0, Int((x - rim).rounded(.down))), x1 = min(image.width - 1, Int((x + rim).rounded(.up)))
    let y0 = max(0, Int((y - rim).rounded(.down))), y1 = min(image.height - 1, Int((y + rim).rounded(.up)))
    guard x0 <= x1, y0 <= y1 else { return }
    for py in y0...y1 {
        for px in x0...x1 {
            let dx = Float(px) + 0.5 - x, dy = Float(py) + 0.5 - y, distance = (dx * dx + dy * dy).squareRoot()
            guard distance <= rim else { continue }
            let paint = distance <= radius ? colour : SIMD3<UInt8>(255, 255, 255)
            let i = (py * image.width + px) * 3
            image.pixels[i] = paint.x
            image.pixels[i + 1] = paint.y
            image.pixels[i + 2] = paint.z
        }
    }
}

/// Paints the boundary of a row-major 0/1 mask of the image's size (mask pixels with a 4-neighbour
/// outside it), three pixels wide so it shows at full resolution.
public func drawOutline(on image: inout RGBImage, of mask: [UInt8], colour: SIMD3<UInt8>) {
    precondition(mask.count == image.width * image.height, "drawOutline: a mask of \(mask.count) pixels for \(image.width)x\(image.height)")
    let w = image.width, h = image.height
    func inside(_ x: Int, _ y: Int) -> Bool { x >= 0 && y >= 0 && x < w && y < h && mask[y * w + x] != 0 }
    for y in 0..<h {
        for x in 0..<w where inside(x, y) && !(inside(x - 1, y) && inside(x + 1, y) && inside(x, y - 1) && inside(x, y + 1)) {
            for py in max(0, y - 1)...min(h - 1, y + 1) {
                for px in max(0, x - 1)...min(w - 1, x + 1) {
                    let i = (py * w + px) * 3
                    image.pixels[i] = colour.x
                    image.pixels[i + 1] = colour.y
                    image.pixels[i + 2] = colour.z
                }
            }
        }
    }
}

import Geometry

/// The local maxima (P ≥ tau) or minima (P < tau) of a map, one per plateau (§8, local-maxima).
/// A pixel is a local maximum when it is ≥ each of its existing 8 neighbours, that is, equal to the
/// maximum of its 3 × 3 neighbourhood clipped to the image. Adjacent such pixels are necessarily
/// equal, so each 8-connected group of them is one plateau, counted once at its first pixel in
/// row-major order.
enum LocalExtrema {
    /// Plateau first pixels (row-major indices), maxima by descending P, minima by ascending P,
    /// ties in row-major order.
    static func plateaus(_ map: AttentionMap, threshold: Float, maxima: Bool) -> [Int] {
        // Minima of P are the maxima of −P.
        let sign: Float = maxima ? 1 : -1
        let pooled = neighbourhoodMaximum(map, sign: sign)
        let mask = map.values.withUnsafeBufferPointer { p in
            pooled.withUnsafeBufferPointer { m in
                (0..<p.count).map { i in sign * p[i] == m[i] && (p[i] >= threshold) == maxima }
            }
        }
        let components = ConnectedComponents(mask: mask, height: map.height, width: map.width)
        let values = map.values
        return components.firstPixels.sorted { a, b in
            sign * values[a] > sign * values[b] || (values[a] == values[b] && a < b)
        }
    }

    /// The maximum of sign · P over each pixel's 3 × 3 neighbourhood (clipped at the border), by
    /// rows then columns.
    static func neighbourhoodMaximum(_ map: AttentionMap, sign: Float) -> [Float] {
        let h = map.height, w = map.width
        @inline(__always) func larger(_ a: Float, _ b: Float) -> Float { a > b ? a : b }
        var across = [Float](repeating: 0, count: h * w)
        map.values.withUnsafeBufferPointer { v in
            across.withUnsafeMutableBufferPointer { a in
                for y in 0..<h {
                    let row = v.baseAddress! + y * w, out = a.baseAddress! + y * w
                    for x in 0..<w { out[x] = larger(larger(sign * row[max(x - 1, 0)], sign * row[x]), sign * row[min(x + 1, w - 1)]) }
                }
            }
        }
        return [Float](unsafeUninitializedCapacity: h * w) { pooled, initialised in
            across.withUnsafeBufferPointer { a in
                for y in 0..<h {
                    let up = a.baseAddress! + max(y - 1, 0) * w, here = a.baseAddress! + y * w, down = a.baseAddress! + min(y + 1, h - 1) * w
                    let out = pooled.baseAddress! + y * w
                    for x in 0..<w { out[x] = larger(larger(up[x], here[x]), down[x]) }
                }
            }
            initialised = h * w
        }
    }
}

extension PointSampler {
    /// Up to k local-maximum plateaus, greedily in descending P, each at least `minDistance` from
    /// those taken; up to k local-minimum plateaus (P < tau) in ascending P as negatives, without
    /// the distance rule. No positive means no points at all.
    func localMaxima(_ map: AttentionMap) -> SampledPoints {
        var result = SampledPoints()
        result.candidatePixels = map.values.reduce(0) { $0 + ($1 >= threshold ? 1 : 0) }
        let maxima = LocalExtrema.plateaus(map, threshold: threshold, maxima: true)
        let minima = LocalExtrema.plateaus(map, threshold: threshold, maxima: false)
        result.maximaFound = maxima.count
        result.minimaFound = minima.count
        guard !maxima.isEmpty else { return result }
        let distance = minDistance ?? Double(min(map.height, map.width)) / 20
        var taken: [Int] = []
        for pixel in maxima where taken.count < count {
            let far = taken.allSatisfy { other in
                let dx = Double(pixel % map.width - other % map.width), dy = Double(pixel / map.width - other / map.width)
                return dx * dx + dy * dy >= distance * distance
            }
            if far { taken.append(pixel) }
        }
        result.localised = true
        result.positives = taken.map { PixelPoint(pixel: $0, width: map.width) }
        result.negatives = minima.prefix(count).map { PixelPoint(pixel: $0, width: map.width) }
        return result
    }
}

/// Polygon rasterisation with pycocotools' convention (`rleFrPoly` in maskApi.c).
///
/// The polygon is scaled by 5 and its vertices rounded to that grid (`(int)(5·v + 0.5)`, a C cast,
/// so truncation toward zero). Every edge is walked one grid step at a time along its longer axis
/// (from its lower end, so both directions round alike), giving a dense closed boundary. Wherever
/// that boundary crosses from one grid column to the next at a pixel column centre, the crossing's
/// row is turned into the first pixel row inside the polygon there; each such boundary point
/// toggles the mask in column-major order. Sorting those positions and differencing them gives
/// the run lengths; coinciding positions cancel out.
extension RunLengthMask {
    /// Grid cells per pixel.
    fileprivate static let polygonScale = 5.0

    /// The largest |coordinate| accepted: beyond it the scaled grid would overflow C's int.
    public static let largestPolygonCoordinate = 4.0e8

    /// One polygon `[x0, y0, x1, y1, …]` (pixel coordinates; a trailing odd value is ignored, as
    /// pycocotools ignores it) rasterised in a `height × width` image, byte for byte what
    /// `pycocotools.mask.frPyObjects([polygon], height, width)` gives. Throws for a coordinate that
    /// is not finite or larger than `largestPolygonCoordinate`.
    public init(polygon: [Double], height: Int, width: Int) throws {
        try Self.checkSize(height: height, width: width)
        guard height > 0, width > 0 else { throw RunLengthError.invalidSize(height: height, width: width) }
        if let bad = polygon.first(where: { !$0.isFinite || abs($0) > Self.largestPolygonCoordinate }) {
            throw RunLengthError.invalidPolygonCoordinate(bad)
        }
        let counts = polygon.withUnsafeBufferPointer {
            Self.polygonRuns($0, vertexCount: polygon.count / 2, height: height, width: width)
        }
        try self.init(height: height, width: width, counts: counts)
    }

    private static func polygonRuns(_ xy: UnsafeBufferPointer<Double>, vertexCount: Int, height: Int, width: Int) -> [UInt32] {
        var positions = boundaryPositions(xy, vertexCount: vertexCount, height: height, width: width)
        positions.append(UInt32(truncatingIfNeeded: height * width))
        positions.sort()
        return runs(fromSortedPositions: positions)
    }

    /// Column-major positions where the mask toggles: one per crossing of the upsampled boundary
    /// over a pixel column centre.
    private static func boundaryPositions(_ xy: UnsafeBufferPointer<Double>, vertexCount: Int, height: Int, width: Int) -> [UInt32] {
        guard vertexCount > 0 else { return [] }
        func gridX(_ vertex: Int) -> Int { cTruncatingInt32(polygonScale * xy[2 * (vertex % vertexCount)] + 0.5) }
        func gridY(_ vertex: Int) -> Int { cTruncatingInt32(polygonScale * xy[2 * (vertex % vertexCount) + 1] + 0.5) }

        var crossings = ColumnCrossings(height: height, width: width)
        for edge in 0..<vertexCount {
            var xs = gridX(edge), xe = gridX(edge + 1), ys = gridY(edge), ye = gridY(edge + 1)
            let dx = abs(xe - xs), dy = abs(ys - ye)
            let alongX = dx >= dy
            // Walk from the lower end of the longer axis, but emit the points in the edge's own order.
            let flip = alongX ? xs > xe : ys > ye
            if flip { swap(&xs, &xe); swap(&ys, &ye) }
            // A zero-length edge gives 0/0 = NaN here, as in C; its one point never marks a crossing.
            let slope = alongX ? Double(ye - ys) / Double(dx) : Double(xe - xs) / Double(dy)
            let steps = alongX ? dx : dy
            for d in 0...steps {
                let t = flip ? steps - d : d
                if alongX {
                    crossings.visit(t + xs, cTruncatingInt32(Double(ys) + slope * Double(t) + 0.5))
                } else {
                    crossings.visit(cTruncatingInt32(Double(xs) + slope * Double(t) + 0.5), t + ys)
                }
            }
        }
        return crossings.positions
    }

    /// Run lengths from sorted toggle positions ending with height × width: differences, where a
    /// zero difference (two toggles at one place) joins the run after it to the run before it.
    private static func runs(fromSortedPositions positions: [UInt32]) -> [UInt32] {
        var runs = [UInt32]()
        runs.reserveCapacity(positions.count)
        var previous: UInt32 = 0
        var index = 0
        var joinNext = false
        while index < positions.count {
            let length = positions[index] &- previous
            previous = positions[index]
            index += 1
            if joinNext {
                runs[runs.count - 1] &+= length
                joinNext = false
            } else if length > 0 || runs.isEmpty {
                runs.append(length)
            } else {
                joinNext = true
            }
        }
        return runs
    }

    /// C's `(int)value` as x86-64 computes it: truncation toward zero, and INT_MIN for NaN or a
    /// value outside int's range (where C leaves it undefined and the instruction gives INT_MIN).
    fileprivate static func cTruncatingInt32(_ value: Double) -> Int {
        guard value > -2_147_483_649.0, value < 2_147_483_648.0 else { return Int(Int32.min) }
        return Int(value)
    }
}

/// The boundary walk's consumer: it sees the upsampled boundary points in order and records, for
/// each step from one grid column to the next that crosses a pixel column centre, the column-major
/// position of the first pixel inside.
private struct ColumnCrossings {
    let height: Int
    let lastColumn: Double
    private(set) var positions: [UInt32] = []
    private var previousU = 0, previousV = 0, started = false

    init(height: Int, width: Int) {
        self.height = height
        lastColumn = Double(width - 1)
        positions.reserveCapacity(64)
    }

    mutating func visit(_ u: Int, _ v: Int) {
        defer { previousU = u; previousV = v; started = true }
        guard started, u != previousU else { return }
        // (g + 0.5) / 5 - 0.5 is a whole number exactly when g = 5k + 2: test that first (cheap).
        let grid = u < previousU ? u : u - 1
        guard grid >= 2, grid % 5 == 2 else { return }
        let scale = RunLengthMask.polygonScale
        let x = (Double(grid) + 0.5) / scale - 0.5
        guard x.rounded(.down) == x, x >= 0, x <= lastColumn else { return }
        var y = (Double(v < previousV ? v : previousV) + 0.5) / scale - 0.5
        y = y < 0 ? 0 : (y > Double(height) ? Double(height) : y)
        y.round(.up)
        positions.append(UInt32(truncatingIfNeeded: Int(x) * height + Int(y)))
    }
}

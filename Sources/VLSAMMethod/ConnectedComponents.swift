/// The 8-connected components of a boolean mask, kept as horizontal runs: the maps here are
/// smooth, so a megapixel mask has a few thousand runs, and labelling runs with union-find is
/// far cheaper than labelling pixels. Components are numbered in the row-major order of their
/// first pixels.
public struct ConnectedComponents: Sendable {
    /// Pixels `start ..< end` of one row.
    public struct Run: Sendable, Equatable {
        public let row: Int
        public let start: Int
        public let end: Int
    }

    public let height: Int
    public let width: Int
    /// Every run of set pixels, in row-major order.
    public let runs: [Run]
    /// The component of each run.
    public let componentOfRun: [Int]
    /// Pixels per component.
    public let sizes: [Int]
    /// Row-major index of each component's first pixel (ascending, by numbering).
    public let firstPixels: [Int]

    public var count: Int { sizes.count }

    public init(mask: [Bool], height: Int, width: Int) {
        precondition(mask.count == height * width, "ConnectedComponents: \(mask.count) pixels for \(height) × \(width)")
        self.height = height
        self.width = width
        var runs: [Run] = []
        mask.withUnsafeBufferPointer { m in
            for y in 0..<height {
                let row = m.baseAddress! + y * width
                var x = 0
                while x < width {
                    guard row[x] else { x += 1; continue }
                    let start = x
                    while x < width && row[x] { x += 1 }
                    runs.append(Run(row: y, start: start, end: x))
                }
            }
        }
        // Union-find over runs; a run touches a run of the row above when their column ranges,
        // widened by one pixel for the diagonals, overlap.
        var parent = Array(runs.indices)
        func root(_ r: Int) -> Int {
            var r = r
            while parent[r] != r { parent[r] = parent[parent[r]]; r = parent[r] }
            return r
        }
        var above = 0 ..< 0, index = 0
        while index < runs.count {
            let y = runs[index].row
            var end = index
            while end < runs.count && runs[end].row == y { end += 1 }
            if above.isEmpty || runs[above.lowerBound].row != y - 1 { above = index ..< index }
            var candidate = above.lowerBound
            for current in index..<end {
                let run = runs[current]
                while candidate < above.upperBound && runs[candidate].end < run.start { candidate += 1 }
                var other = candidate
                while other < above.upperBound && runs[other].start <= run.end {
                    let a = root(current), b = root(other)
                    if a != b { parent[max(a, b)] = min(a, b) }
                    other += 1
                }
            }
            above = index ..< end
            index = end
        }
        // Roots are each component's first run, so numbering roots in run order numbers the
        // components by first pixel.
        var number = [Int](repeating: -1, count: runs.count)
        var componentOfRun = [Int](repeating: 0, count: runs.count)
        var sizes: [Int] = [], firstPixels: [Int] = []
        for (r, run) in runs.enumerated() {
            let top = root(r)
            if number[top] < 0 {
                number[top] = sizes.count
                sizes.append(0)
                firstPixels.append(run.row * width + run.start)
            }
            componentOfRun[r] = number[top]
            sizes[number[top]] += run.end - run.start
        }
        self.runs = runs
        self.componentOfRun = componentOfRun
        self.sizes = sizes
        self.firstPixels = firstPixels
    }

    /// The component with the most pixels; ties go to the one whose first pixel comes first.
    public var largest: Int? {
        sizes.indices.max { sizes[$0] < sizes[$1] || (sizes[$0] == sizes[$1] && $0 > $1) }
    }

    /// The runs of one component, in row-major order.
    public func runs(of component: Int) -> [Run] {
        runs.indices.filter { componentOfRun[$0] == component }.map { runs[$0] }
    }
}

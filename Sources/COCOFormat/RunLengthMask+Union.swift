/// Union of masks on their runs (pycocotools' `merge(rles, intersect=0)`, `rleMerge` in maskApi.c).
extension RunLengthMask {
    /// The union of masks of one size, with the counts pycocotools computes: masks are folded in
    /// left to right, and each fold walks both run lists at once, closing a run wherever the union
    /// changes value. Nil for no masks or masks of different sizes (pycocotools then returns an
    /// empty 0×0 mask).
    public static func union(_ masks: [RunLengthMask]) -> RunLengthMask? {
        guard let first = masks.first,
              masks.allSatisfy({ $0.height == first.height && $0.width == first.width }) else { return nil }
        var counts = first.counts
        var merged = [UInt32]()
        for mask in masks.dropFirst() {
            merged.removeAll(keepingCapacity: true)
            unionRuns(counts, mask.counts, into: &merged)
            swap(&counts, &merged)
        }
        return RunLengthMask(checkedHeight: first.height, width: first.width, counts: counts)
    }

    /// One fold of `rleMerge`. Zero-length runs are consumed one per step, exactly as there, so
    /// even non-canonical inputs give pycocotools' counts.
    private static func unionRuns(_ a: [UInt32], _ b: [UInt32], into output: inout [UInt32]) {
        guard !a.isEmpty, !b.isEmpty else { output = a.isEmpty ? b : a; return }
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                var leftA = a[0], leftB = b[0]
                var nextA = 1, nextB = 1
                var inA = false, inB = false, value = false
                var run: UInt32 = 0
                var remaining: UInt32 = 1
                while remaining > 0 {
                    let step = min(leftA, leftB)
                    run &+= step
                    leftA -= step
                    if leftA == 0, nextA < a.count { leftA = a[nextA]; nextA += 1; inA.toggle() }
                    leftB -= step
                    if leftB == 0, nextB < b.count { leftB = b[nextB]; nextB += 1; inB.toggle() }
                    // 32-bit, as in C.
                    remaining = leftA &+ leftB
                    let before = value
                    value = inA || inB
                    if value != before || remaining == 0 {
                        output.append(run)
                        run = 0
                    }
                }
            }
        }
    }
}

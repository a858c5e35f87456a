import Foundation

// TensorMath schedules its own threads and keeps OpenBLAS single-threaded inside each of them.
// OpenBLAS's thread pool busy-waits (sched_yield) for about 0.1 s after every threaded call; the
// softmax, resize and elementwise work that alternates with the matrix products then fights
// those spinning threads for the cores (a quarter of the encoder's time went to it).

nonisolated(unsafe) private var threadCount = ProcessInfo.processInfo.activeProcessorCount

/// Threads `parallelFor` (and so every parallel kernel) may use.
public func computeThreads() -> Int { threadCount }

/// Sets the thread count; call it before any work starts, not while kernels run.
public func setComputeThreads(_ count: Int) { threadCount = max(1, count) }

/// Calls `body(worker, item)` for every item of `0..<items` on up to `computeThreads()` threads,
/// concurrently: items must write disjoint memory.
/// Workers claim items in order, so a core slowed by other load does not hold the rest back;
/// `worker` (in `0..<min(items, computeThreads())`) indexes per-worker scratch memory.
func parallelFor(_ items: Int, _ body: (_ worker: Int, _ item: Int) -> Void) {
    let workers = min(threadCount, items)
    if workers <= 1 {
        for item in 0..<items { body(0, item) }
        return
    }
    let queue = ItemQueue(count: items)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        while let item = queue.next() { body(worker, item) }
    }
}

/// `parallelFor` over contiguous ranges of `0..<count` whose total cost is about `count·unitCost`
/// elementary operations; small jobs stay on the calling thread.
func parallelRanges(_ count: Int, unitCost: Int, _ body: (Range<Int>) -> Void) {
    // A range of less than ~64k operations does not repay waking a thread.
    let parts = min(count, max(1, count * unitCost >> 16), 4 * threadCount)
    parallelFor(parts) { _, part in body(count * part / parts ..< count * (part + 1) / parts) }
}

private final class ItemQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed = 0
    private let count: Int

    init(count: Int) { self.count = count }

    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard claimed < count else { return nil }
        claimed += 1
        return claimed - 1
    }
}

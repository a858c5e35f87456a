import Foundation
import Synchronization

// TensorMath schedules its own threads and keeps OpenBLAS single-threaded inside each of them.
// OpenBLAS's thread pool busy-waits (sched_yield) for about 0.1 s after every threaded call; the
// softmax, resize and elementwise work that alternates with the matrix products then fights
// those spinning threads for the cores (a quarter of the encoder's time went to it).
// Our workers spin for a few microseconds after each job, then sleep on a condition variable:
// token-by-token decoding hands the threads ~150 small jobs per token, and a futex wake-up
// each time cost a fifth of the decode time. They are plain threads rather than
// Dispatch's pool, which on Linux adds threads only when its load monitor sees idle cores and
// so ran whole encoder passes on one thread while the machine was busy.

nonisolated(unsafe) private var threadCount = ProcessInfo.processInfo.activeProcessorCount

/// Threads `parallelFor` (and so every parallel kernel) may use.
public func computeThreads() -> Int { threadCount }

/// Sets the thread count. Call it before the first parallel kernel runs: the worker threads are
/// created then, and a later, larger count is capped at that many.
public func setComputeThreads(_ count: Int) { threadCount = max(1, count) }

/// Calls `body(worker, item)` for every item of `0..<items` on up to `computeThreads()` threads,
/// concurrently: items must write disjoint memory. Workers claim items in order, so a core slowed
/// by other load does not hold the rest back; `worker` (in `0..<min(items, computeThreads())`)
/// indexes per-worker scratch memory. A `parallelFor` inside another runs on its caller's thread.
public func parallelFor(_ items: Int, _ body: (_ worker: Int, _ item: Int) -> Void) {
    let workers = min(threadCount, items)
    guard workers > 1, let pool = WorkerPool.shared, pool.begin() else {
        for item in 0..<items { body(0, item) }
        return
    }
    var next = 0
    let claims = NSLock()
    let claim = { () -> Int? in
        claims.lock()
        defer { claims.unlock() }
        guard next < items else { return nil }
        next += 1
        return next - 1
    }
    pool.run(workers: workers) { worker in
        while let item = claim() { body(worker, item) }
    }
}

/// `parallelFor` over contiguous ranges of `0..<count` whose total cost is about `count·unitCost`
/// elementary operations; small jobs stay on the calling thread.
func parallelRanges(_ count: Int, unitCost: Int, _ body: (Range<Int>) -> Void) {
    // A range of less than ~128k operations does not repay waking a thread.
    let parts = min(count, max(1, (count * unitCost) >> 17), 4 * threadCount)
    parallelFor(parts) { _, part in body(count * part / parts ..< count * (part + 1) / parts) }
}

/// `computeThreads() − 1` threads that run one job at a time alongside the caller.
private final class WorkerPool: @unchecked Sendable {
    static let shared: WorkerPool? = threadCount > 1 ? WorkerPool(threads: threadCount - 1) : nil

    private let condition = NSCondition()
    private var busy = false
    private var job: ((Int) -> Void)?
    /// Pool threads taking part in the current job.
    private var participants = 0
    private var generation = 0
    /// `generation` and the participants not yet done, readable without the lock while spinning.
    private let published = Atomic<Int>(0), unfinished = Atomic<Int>(0)
    private let threads: Int

    private init(threads: Int) {
        self.threads = threads
        for index in 1...threads {
            let thread = Thread { [unowned self] in self.serve(worker: index) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Reserves the pool for one job; false when another job (an enclosing one) holds it.
    func begin() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if busy { return false }
        busy = true
        return true
    }

    /// Runs `body(0)` here and `body(1..<workers)` on pool threads, then releases the pool.
    func run(workers: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            condition.lock()
            job = body
            participants = min(workers - 1, threads)
            unfinished.store(participants, ordering: .releasing)
            generation += 1
            published.store(generation, ordering: .releasing)
            condition.broadcast()
            condition.unlock()

            body(0)

            if !spin(until: { unfinished.load(ordering: .acquiring) == 0 }) {
                condition.lock()
                while unfinished.load(ordering: .acquiring) > 0 { condition.wait() }
                condition.unlock()
            }
            condition.lock()
            job = nil
            busy = false
            condition.unlock()
        }
    }

    private func serve(worker: Int) {
        var seen = 0
        while true {
            _ = spin(until: { published.load(ordering: .acquiring) != seen })
            condition.lock()
            while generation == seen { condition.wait() }
            seen = generation
            var current = worker <= participants ? job : nil
            condition.unlock()
            guard current != nil else { continue }
            current?(worker)
            // The caller's closure may not outlive `run`, which returns once `unfinished` is 0.
            current = nil
            if unfinished.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                condition.lock()
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    /// Polls `done` for about 50 µs; true when it became true.
    private func spin(until done: () -> Bool) -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + 50_000
        while !done() {
            if DispatchTime.now().uptimeNanoseconds > deadline { return false }
        }
        return true
    }
}

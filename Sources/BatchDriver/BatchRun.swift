import Artifacts
import COCOFormat
import Foundation
import Pipeline

/// A batch: every photo through `PhotoPipeline` on `jobs` threads, one photo at a time under its
/// lock, a run log, progress, and at the end the batch outputs (COCO results, report page).
public final class BatchRun: @unchecked Sendable {
    public struct Summary: Sendable {
        public var photos = 0, done = 0, failed = 0, reused = 0, detections = 0
        /// Seconds spent in each stage, summed over photos.
        public var stageSeconds: [String: Double] = [:]
        public var reports: [PhotoPipeline.PhotoReport] = []
        /// `--eval`'s summary and per-category table.
        public var evaluation: String?
    }

    let pipeline: PhotoPipeline
    let photos: [BatchPhoto]
    let jobs: Int
    let categories: COCOCategoryMap?
    /// COCO image ids by photo name (from `--categories`' images); photos it lacks are numbered after its largest id, in photo order.
    let imageIDs: [String: Int]
    /// No progress lines (benchmarks).
    let quiet: Bool
    /// Whether to write detections.json, images.json and report.html (not for one shard of many).
    let batchOutputs: Bool
    /// `--eval`: the instances file whose ground truth the batch outputs are scored against.
    let evaluationGroundTruth: String?

    public init(pipeline: PhotoPipeline, photos: [BatchPhoto], jobs: Int, batchOutputs: Bool = true,
                categories: COCOCategoryMap? = nil, imageIDs: [String: Int] = [:], evaluationGroundTruth: String? = nil,
                quiet: Bool = false) {
        self.pipeline = pipeline
        self.photos = photos
        self.jobs = max(1, jobs)
        self.categories = categories
        self.imageIDs = imageIDs
        self.quiet = quiet
        self.batchOutputs = batchOutputs
        self.evaluationGroundTruth = evaluationGroundTruth
    }

    /// What would run for every photo, and why, without running anything.
    public func plan() -> [PhotoPipeline.PhotoReport] {
        photos.map { pipeline.process(photo: $0.path, folder: $0.folder, dryRun: true) }
    }

    /// Runs the batch, after removing what killed runs left in OUT (`LeftoverFiles`). Photos
    /// another process holds are put back and taken again at the end; a photo's leftovers are
    /// removed again once its lock is held.
    public func run() throws -> Summary {
        let started = Date()
        let layout = pipeline.layout
        LeftoverFiles.removeAll(in: layout)
        let log = try RunLog(path: layout.runLog)
        let progress = ProgressDisplay(total: photos.count)
        let lock = NSLock()
        var queue = photos.map { (photo: $0, deferred: false) }, reports: [PhotoPipeline.PhotoReport] = []
        func next() -> (photo: BatchPhoto, deferred: Bool)? {
            lock.lock()
            defer { lock.unlock() }
            return queue.isEmpty ? nil : queue.removeFirst()
        }
        let threads = min(jobs, photos.count)
        DispatchQueue.concurrentPerform(iterations: max(threads, 1)) { _ in
            while let item = next() {
                let photo = item.photo, start = Date()
                var report: PhotoPipeline.PhotoReport
                do {
                    try FileManager.default.createDirectory(atPath: layout.photoFolder(photo.folder), withIntermediateDirectories: true)
                    guard let held = try PhotoLock(path: layout.lock(photo.folder), wait: item.deferred) else {
                        lock.lock()
                        queue.append((photo, true))
                        lock.unlock()
                        continue
                    }
                    LeftoverFiles.remove(in: layout.photoFolder(photo.folder))
                    report = pipeline.process(photo: photo.path, folder: photo.folder, dryRun: false) { step in
                        log.write(["photo": photo.path, "stage": step.stage, "output": step.output, "status": step.status.rawValue,
                                   "seconds": (step.seconds * 1000).rounded() / 1000, "reason": step.reason])
                    }
                    withExtendedLifetime(held) {}
                } catch {
                    report = PhotoPipeline.PhotoReport(photo: photo.path, folder: photo.folder)
                    report.error = String(describing: error)
                }
                log.write(["photo": photo.path, "stage": "photo", "status": report.error == nil ? "done" : "failed",
                           "seconds": (Date().timeIntervalSince(start) * 1000).rounded() / 1000,
                           "detections": report.detections, "error": report.error ?? "", "note": report.note ?? ""])
                if !quiet { progress.photoFinished(report, seconds: Date().timeIntervalSince(start)) }
                lock.lock()
                reports.append(report)
                lock.unlock()
            }
        }
        progress.done()
        let order = Dictionary(uniqueKeysWithValues: photos.enumerated().map { ($1.path, $0) })
        reports.sort { order[$0.photo]! < order[$1.photo]! }
        var summary = Summary(photos: photos.count, reports: reports)
        for report in reports {
            if report.error != nil { summary.failed += 1 } else { summary.done += 1 }
            if report.error == nil && report.steps.allSatisfy({ $0.status == .reused }) { summary.reused += 1 }
            summary.detections += report.detections
            for step in report.steps { summary.stageSeconds[step.stage, default: 0] += step.seconds }
        }
        if batchOutputs { summary.evaluation = try writeBatchOutputs(reports, seconds: Date().timeIntervalSince(started)) }
        return summary
    }
}

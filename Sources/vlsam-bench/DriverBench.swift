import BatchDriver
import Foundation
import Pipeline
import VLMModels

/// The batch driver on full-size architectures (SmolVLM-256M and the SAM checkpoint, random
/// weights): 12 photos (the samples, three copies each), 5 teacher-forced objects, no image
/// splitting, K = 2, with one and with two photos in flight.
func runDriverBench(bundle: SmolVLMBundle, checkpoint: String, image: String, workDirectory: String) throws {
    let samples = (image as NSString).deletingLastPathComponent
    let photos = "\(workDirectory)/photos"
    try? FileManager.default.removeItem(atPath: workDirectory)
    try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
    for photo in try photoFiles(in: samples) {
        let name = (photo as NSString).lastPathComponent
        for copy in 1...3 { try FileManager.default.copyItem(atPath: photo, toPath: "\(photos)/\(copy)-\(name)") }
    }
    var configuration = RunConfiguration()
    configuration.list.imageSplitting = false
    configuration.list.objects = ["truck", "dog", "window", "bag", "person"]
    let models = PhotoPipeline.Models(vlm: bundle, sam: try LoadedModel(checkpoint: checkpoint))
    for jobs in [1, 2] {
        let out = "\(workDirectory)/out-\(jobs)"
        let pipeline = PhotoPipeline(layout: OutputLayout(root: out), configuration: configuration, models: models)
        let batch = BatchRun(pipeline: pipeline, photos: try BatchPhoto.batch(photoFiles(in: photos)), jobs: jobs, quiet: true)
        let start = Date()
        let summary = try batch.run()
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "vlsam-run, %d photos, %d in flight (5 objects, no splitting, K = 2): %.1f s = %.1f photos/min, %d failed",
                     summary.photos, jobs, seconds, Double(summary.photos) / seconds * 60, summary.failed))
        let stages = summary.stageSeconds.sorted { $0.value > $1.value }
            .map { String(format: "%@ %.2f", $0.key, $0.value / Double(summary.photos)) }
        print("  seconds per photo by stage: " + stages.joined(separator: ", "))
    }
    print(String(format: "peak RSS of the driver: %.0f MB", peakRSSMegabytes()))
}

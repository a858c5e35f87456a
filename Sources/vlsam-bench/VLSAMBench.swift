import Artifacts
import Foundation
import Imaging
import Pipeline
import VLMModels

/// The VL-SAM stages on the full-size SmolVLM-256M architecture (random weights): attention
/// extraction against the listing's own prefill, in both splitting settings, its memory above
/// the model's, and point sampling per object at full resolution.
func runVLSAMBench(bundle: SmolVLMBundle, image: String, workDirectory: String) throws {
    try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
    let list = ListStage(bundle: bundle), attend = AttendStage(bundle: bundle)
    var names = ListStage.Options()
    names.objects = ["truck", "fire hydrant", "window", "tire", "house"]
    for split in [false, true] {
        var listing = names
        listing.imageSplitting = split
        let objects = "\(workDirectory)/split-\(split).objects.h5", attention = "\(workDirectory)/split-\(split).attention.h5"
        try list.run(image: image, output: objects, options: listing)
        let prefill = try measurePrefill(bundle, photo: try decodeImage(atPath: image), splitting: split).seconds
        // The model's own memory is what is resident now; the stage's peak is measured from here.
        resetPeakRSS()
        let modelRSS = residentMegabytes()
        var best = Double.infinity, tokens = 0
        for _ in 0..<3 {
            let time = measure { tokens = (try! attend.run(objects: objects, output: attention, options: .init())).objects.count }
            best = min(best, time.wall)
        }
        let peak = peakResidentMegabytes()
        print(String(format: "vlsam-attend, splitting %@ (%d objects): %.2f s; the listing's prefill: %.2f s; " +
                     "peak RSS %.0f MB above the model's %.0f MB", split ? "on " : "off", tokens, best, prefill,
                     peak - modelRSS, modelRSS))

        if split {
            let prompts = "\(workDirectory)/split-\(split).prompts.h5"
            var sampling = Double.infinity
            for _ in 0..<3 {
                sampling = min(sampling, measure { try! PointsStage().run(attention: attention, output: prompts, options: .init()) }.wall)
            }
            print(String(format: "vlsam-points (vl-sam, 1800x1200): %.1f ms per object, reading and writing included",
                         1000 * sampling / Double(tokens)))
        }
    }
}

/// Lets the kernel's peak-RSS mark start again from the current size (Linux: clear_refs 5).
func resetPeakRSS() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

/// VmRSS and VmHWM from /proc/self/status, in MB.
func residentMegabytes() -> Double { statusField("VmRSS") }
func peakResidentMegabytes() -> Double { statusField("VmHWM") }

private func statusField(_ name: String) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
          let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return .nan }
    return kilobytes / 1024
}

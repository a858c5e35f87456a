import Foundation

/// Where a batch keeps everything, one folder per photo (shared with `pipelines/vlsam.mk`; `BatchPhoto`
/// names the folders):
///
///     OUT/photos/<folder>/objects.h5          vlsam.objects      (question q > 0: objects.q<q>.h5)
///     OUT/photos/<folder>/attention.h5        vlsam.attention    (attention.q<q>.h5)
///     OUT/photos/<folder>/prompts.<k>.h5      vlsam.prompts of refinement iteration k (prompts.q<q>.<k>.h5)
///     OUT/photos/<folder>/masks.<k>.h5        vlsam.masks of iteration k (masks.q<q>.<k>.h5)
///     OUT/photos/<folder>/embedding.h5        vlsam.embedding
///     OUT/photos/<folder>/crop.s<s>.png       multi-scale ensemble (`multiscale`): quadrant s = 1…4 of the photo,
///     OUT/photos/<folder>/crop.s<s>.json      with what it was cut from (the crop step's record, written after the PNG);
///                                             every artifact above made from that crop has `.s<s>` after the
///                                             question: objects[.q<q>].s<s>.h5, prompts[.q<q>].s<s>.<k>.h5,
///                                             embedding.s<s>.h5, … (scale 0, the whole photo, has no suffix)
///     OUT/photos/<folder>/overlay.png         every detection on the photo (+ thumbnail.png for the report)
///     OUT/photos/<folder>/panels/<i>_<name>.png one panel per detection
///     OUT/photos/<folder>/detections.h5       vlsam.detections, written last: the photo is done
///     OUT/run.jsonl, OUT/detections.json, OUT/images.json, OUT/report.html (+ OUT/metrics.json with --eval)
public struct OutputLayout: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    /// The folder of one photo (`BatchPhoto.folder`).
    public func photoFolder(_ folder: String) -> String { path("photos", folder) }

    public func objects(_ folder: String, question: Int, scale: Int = 0) -> String {
        artifact(folder, "objects", question, nil, scale: scale)
    }
    public func attention(_ folder: String, question: Int, scale: Int = 0) -> String {
        artifact(folder, "attention", question, nil, scale: scale)
    }
    public func prompts(_ folder: String, question: Int, iteration: Int, scale: Int = 0) -> String {
        artifact(folder, "prompts", question, iteration, scale: scale)
    }
    public func masks(_ folder: String, question: Int, iteration: Int, scale: Int = 0) -> String {
        artifact(folder, "masks", question, iteration, scale: scale)
    }
    public func embedding(_ folder: String, scale: Int = 0) -> String { artifact(folder, "embedding", 0, nil, scale: scale) }
    public func detections(_ folder: String) -> String { artifact(folder, "detections", 0, nil) }
    /// The photo's quadrant `scale` (1…4) as a PNG, and the crop step's record of how it was made.
    public func crop(_ folder: String, scale: Int) -> String {
        (photoFolder(folder) as NSString).appendingPathComponent("crop.s\(scale).png")
    }
    public func cropRecord(_ folder: String, scale: Int) -> String {
        (photoFolder(folder) as NSString).appendingPathComponent("crop.s\(scale).json")
    }
    public func overlay(_ folder: String) -> String { (photoFolder(folder) as NSString).appendingPathComponent("overlay.png") }
    public func thumbnail(_ folder: String) -> String { (photoFolder(folder) as NSString).appendingPathComponent("thumbnail.png") }
    public func panels(_ folder: String) -> String { (photoFolder(folder) as NSString).appendingPathComponent("panels") }
    public func lock(_ folder: String) -> String { (photoFolder(folder) as NSString).appendingPathComponent(".lock") }

    public var runLog: String { path("run.jsonl") }
    public var detectionsJSON: String { path("detections.json") }
    public var imagesJSON: String { path("images.json") }
    public var report: String { path("report.html") }
    /// `--eval`'s COCO metrics (vlsam-eval's metrics JSON).
    public var metricsJSON: String { path("metrics.json") }

    /// `<kind>[.q<question>][.s<scale>][.<iteration>].h5` in the photo's folder.
    func artifact(_ folder: String, _ kind: String, _ question: Int, _ iteration: Int?, scale: Int = 0) -> String {
        let name = kind + (question > 0 ? ".q\(question)" : "") + (scale > 0 ? ".s\(scale)" : "")
            + (iteration.map { ".\($0)" } ?? "") + ".h5"
        return (photoFolder(folder) as NSString).appendingPathComponent(name)
    }

    func path(_ parts: String...) -> String {
        parts.reduce(root) { ($0 as NSString).appendingPathComponent($1) }
    }
}

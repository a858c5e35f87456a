import Foundation

/// Where a batch keeps everything, one folder per photo (shared with `pipelines/vlsam.mk`):
///
///     OUT/photos/<stem>/objects.h5            vlsam.objects      (question q > 0: objects.q<q>.h5)
///     OUT/photos/<stem>/attention.h5          vlsam.attention    (attention.q<q>.h5)
///     OUT/photos/<stem>/prompts.<k>.h5        vlsam.prompts of refinement iteration k (prompts.q<q>.<k>.h5)
///     OUT/photos/<stem>/masks.<k>.h5          vlsam.masks of iteration k (masks.q<q>.<k>.h5)
///     OUT/photos/<stem>/embedding.h5          vlsam.embedding
///     OUT/photos/<stem>/overlay.png           every detection on the photo (+ thumbnail.png for the report)
///     OUT/photos/<stem>/panels/<i>_<name>.png one panel per detection
///     OUT/photos/<stem>/detections.h5         vlsam.detections, written last: the photo is done
///     OUT/run.jsonl, OUT/detections.json, OUT/images.json, OUT/report.html
public struct OutputLayout: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    /// The folder of one photo, named by its file name without extension.
    public func photoFolder(_ stem: String) -> String { path("photos", stem) }

    public func objects(_ stem: String, question: Int) -> String { artifact(stem, "objects", question, nil) }
    public func attention(_ stem: String, question: Int) -> String { artifact(stem, "attention", question, nil) }
    public func prompts(_ stem: String, question: Int, iteration: Int) -> String { artifact(stem, "prompts", question, iteration) }
    public func masks(_ stem: String, question: Int, iteration: Int) -> String { artifact(stem, "masks", question, iteration) }
    public func embedding(_ stem: String) -> String { artifact(stem, "embedding", 0, nil) }
    public func detections(_ stem: String) -> String { artifact(stem, "detections", 0, nil) }
    public func overlay(_ stem: String) -> String { (photoFolder(stem) as NSString).appendingPathComponent("overlay.png") }
    public func thumbnail(_ stem: String) -> String { (photoFolder(stem) as NSString).appendingPathComponent("thumbnail.png") }
    public func panels(_ stem: String) -> String { (photoFolder(stem) as NSString).appendingPathComponent("panels") }
    public func lock(_ stem: String) -> String { (photoFolder(stem) as NSString).appendingPathComponent(".lock") }

    public var runLog: String { path("run.jsonl") }
    public var detectionsJSON: String { path("detections.json") }
    public var imagesJSON: String { path("images.json") }
    public var report: String { path("report.html") }

    /// `<kind>[.q<question>][.<iteration>].h5` in the photo's folder.
    func artifact(_ stem: String, _ kind: String, _ question: Int, _ iteration: Int?) -> String {
        let name = kind + (question > 0 ? ".q\(question)" : "") + (iteration.map { ".\($0)" } ?? "") + ".h5"
        return (photoFolder(stem) as NSString).appendingPathComponent(name)
    }

    func path(_ parts: String...) -> String {
        parts.reduce(root) { ($0 as NSString).appendingPathComponent($1) }
    }
}

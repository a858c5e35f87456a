import ArgumentParser
import Artifacts
import Foundation
import Geometry
import Pipeline
import StageCommandLine
import TensorMath

@main
struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlsam-decode",
        abstract: "Decode masks from a vlsam.embedding artifact and point/box/mask prompts into a vlsam.masks artifact.",
        discussion: """
        Coordinates are in original-image pixels. One prompt set from the command line:
          vlsam-decode --checkpoint CKPT --embedding truck.h5 --output masks.h5 --point 500,375,1 --multimask
          vlsam-decode --checkpoint CKPT --embedding truck.h5 --output box.h5 --box 425,600,700,875
        Cascaded refinement (SAM): feed the best low-res logits of an earlier result back as mask input:
          vlsam-decode ... --point 500,375,1 --mask-input masks.h5 --output refined.h5
        Many prompt sets (one per object) from a vlsam.prompts artifact; the embedding is reused for all:
          vlsam-decode --checkpoint CKPT --embedding truck.h5 --prompts prompts.h5 --output masks.h5
        """)

    @Option(help: "The checkpoint that made the embedding.")
    var checkpoint: String

    @Option(help: "vlsam.embedding artifact from vlsam-encode.")
    var embedding: String

    @Option(help: "Output vlsam.masks artifact.")
    var output: String

    @Option(name: .customLong("point"), help: ArgumentHelp("A point prompt X,Y,LABEL (label 1 foreground, 0 background); repeatable.",
                                                         valueName: "x,y,label"))
    var points: [String] = []

    @Option(help: ArgumentHelp("A box prompt X0,Y0,X1,Y1.", valueName: "x0,y0,x1,y1"))
    var box: String?

    @Option(help: "A vlsam.masks artifact whose low-res logits become the mask prompt (SAM only).")
    var maskInput: String?

    @Option(help: "Which mask of --mask-input to use (default: highest predicted IoU).")
    var maskInputIndex: Int?

    @Flag(help: "One foreground point at the image centre (a smoke-test prompt when there are no prompts yet).")
    var centerPoint = false

    @Option(help: "vlsam.prompts artifact with one prompt set per object (instead of --point/--box).")
    var prompts: String?

    @Flag(help: "Return 3 masks per prompt set instead of 1.")
    var multimask = false

    @Option(help: "Also write every mask as a PNG (0/255) into this directory.")
    var pngDir: String?

    @OptionGroup var shared: SharedOptions

    mutating func validate() throws {
        let commandLinePrompt = !points.isEmpty || box != nil || centerPoint
        if prompts != nil && (commandLinePrompt || maskInput != nil) {
            throw ValidationError("give either --prompts or --point/--box/--mask-input, not both")
        }
        if prompts == nil && !commandLinePrompt {
            throw ValidationError("give a prompt: --point, --box, --center-point or --prompts")
        }
        _ = try givenPoints()
        _ = try givenBox()
    }

    func run() throws {
        shared.apply()
        try runStage("vlsam-decode") {
            if let maskInput { try requireOutput(output, differentFrom: [("mask input", maskInput)]) }
            let stage = try DecodeStage(checkpoint: checkpoint)
            let source: DecodeStage.Prompts = try prompts.map { .file($0) } ?? .commandLine([commandLineSet()])
            let start = Date()
            var options = DecodeStage.Options()
            options.multimask = multimask
            let result = try stage.run(embeddingPath: embedding, prompts: source, options: options, output: output,
                                       pngDirectory: pngDir) { done, total in
                if total >= 20 && (done % max(total / 10, 1) == 0 || done == total) { report("decoded \(done)/\(total) prompt sets") }
            }
            let skipped = result.setSkipped.filter { $0 }.count
            report(String(format: "%@: %d masks from %d prompt sets%@ (%@, %.2f s)", output, result.maskCount,
                          result.setNames.count, skipped > 0 ? " (\(skipped) empty, skipped)" : "",
                          stage.loaded.model.name, Date().timeIntervalSince(start)))
        }
    }

    func commandLineSet() throws -> PromptSet {
        var set = PromptSet(name: "")
        let size = centerPoint || maskInput != nil ? try EmbeddingArtifact.read(from: embedding).originalSize : nil
        if centerPoint, let size {
            set.points.append(.init(x: Float(size.width) / 2, y: Float(size.height) / 2))
            set.labels.append(1)
        }
        for (point, label) in try givenPoints() {
            set.points.append(point)
            set.labels.append(label)
        }
        set.box = try givenBox()
        if let maskInput, let size {
            set.maskInput = try Pipeline.maskInput(fromMasksArtifact: maskInput, index: maskInputIndex, imageSize: size)
        }
        return set
    }

    /// `--point` values; coordinates must not be negative (whether they are inside the image is
    /// checked against the embedding's size).
    func givenPoints() throws -> [(PixelPoint, Int32)] {
        try points.map { text in
            let v = try numbers(text, count: 3, option: "--point")
            guard v[2] == 0 || v[2] == 1 else { throw ValidationError("--point \(text): the label must be 0 or 1") }
            guard v[0] >= 0, v[1] >= 0 else { throw ValidationError("--point \(text): x and y must not be negative (pixels of the image)") }
            return (PixelPoint(x: v[0], y: v[1]), Int32(v[2]))
        }
    }

    /// The `--box`, with x0 <= x1, y0 <= y1 and no negative coordinate.
    func givenBox() throws -> PixelBox? {
        guard let box else { return nil }
        let v = try numbers(box, count: 4, option: "--box")
        guard v[0] <= v[2], v[1] <= v[3] else {
            throw ValidationError("--box \(box): reversed (expected x0,y0,x1,y1 with x0 <= x1 and y0 <= y1)")
        }
        guard v.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--box \(box): coordinates must not be negative (pixels of the image)") }
        return PixelBox(x0: v[0], y0: v[1], x1: v[2], y1: v[3])
    }

    func numbers(_ text: String, count: Int, option: String) throws -> [Float] {
        let parts = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == count, parts.allSatisfy({ $0 != nil && $0!.isFinite }) else {
            throw ValidationError("\(option) \(text): expected \(count) comma-separated numbers")
        }
        return parts.map { $0! }
    }
}

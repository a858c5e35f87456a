import ArgumentParser
import Foundation
import Pipeline
import StageCommandLine
import TensorMath

@main
struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlsam-encode",
        abstract: "Encode photos with a SAM-family image encoder into vlsam.embedding HDF5 artifacts.",
        discussion: """
        The checkpoint's tensors decide the model: EfficientSAM ViT-T/ViT-S (official .pt) or SAM \
        ViT-B/L/H (official .pth); safetensors with the same keys also load.

        One image:      vlsam-encode --checkpoint weights/efficient_sam_vitt.pt --output truck.h5 truck.jpg
        Many images:    vlsam-encode --checkpoint CKPT --output-dir artifacts/emb a.jpg b.png
                        vlsam-encode --checkpoint CKPT --output-dir artifacts/emb --list images.txt
        In a directory each output is named <image stem>.embedding.h5. Outputs are written atomically; \
        with --skip-existing, images whose artifact exists are skipped (resuming a batch). A bad image \
        is reported and the batch goes on; the exit status is 1 if any image failed.
        """)

    @Option(help: "SAM or EfficientSAM checkpoint (.pt, .pth or .safetensors).")
    var checkpoint: String

    @Option(help: "Output artifact (one image only).")
    var output: String?

    @Option(help: "Directory for the outputs of several images.")
    var outputDir: String?

    @Option(help: "A file listing image paths, one per line.")
    var list: String?

    @Flag(help: "Skip images whose output artifact already exists.")
    var skipExisting = false

    @OptionGroup var shared: SharedOptions

    @Argument(help: "JPEG or PNG photos.")
    var images: [String] = []

    mutating func validate() throws {
        if let list { images += try readListFile(list) }
        guard !images.isEmpty else { throw ValidationError("give at least one image (or --list)") }
        guard (output == nil) != (outputDir == nil) else {
            throw ValidationError("give exactly one of --output (one image) and --output-dir")
        }
        if output != nil && images.count > 1 {
            throw ValidationError("--output takes one image; use --output-dir for \(images.count)")
        }
    }

    func run() throws {
        shared.apply()
        let stage: EncodeStage
        do { stage = try EncodeStage(checkpoint: checkpoint) } catch {
            report("vlsam-encode: \(oneLine(error))")
            throw ExitCode.failure
        }
        if let outputDir { try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true) }
        var failures = 0
        for (i, image) in images.enumerated() {
            let target = output ?? embeddingPath(for: image, in: outputDir!)
            let tag = "[\(i + 1)/\(images.count)] \(image)"
            if skipExisting && FileManager.default.fileExists(atPath: target) {
                report("\(tag): \(target) exists, skipped")
                continue
            }
            let start = Date()
            do {
                try stage.run(image: image, output: target)
                report(String(format: "%@ → %@ (%@, %.1f s)", tag, target, stage.loaded.model.name,
                              Date().timeIntervalSince(start)))
            } catch {
                failures += 1
                report("vlsam-encode: \(oneLine(error))")
            }
        }
        if failures > 0 {
            // One image's error line says it all; a batch also gets the count.
            if images.count > 1 { report("vlsam-encode: \(failures) of \(images.count) images failed") }
            throw ExitCode.failure
        }
    }
}

/// <dir>/<image stem>.embedding.h5
func embeddingPath(for image: String, in directory: String) -> String {
    let stem = ((image as NSString).lastPathComponent as NSString).deletingPathExtension
    return (directory as NSString).appendingPathComponent(stem + ".embedding.h5")
}

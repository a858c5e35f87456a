import ArgumentParser
import Artifacts
import Imaging
import Pipeline
import TensorMath
import VLSAMMethod

/// Options every stage executable takes, through `@OptionGroup`.
public struct SharedOptions: ParsableArguments {
    @Option(help: "Threads for the dense math (default: all cores).")
    public var threads: Int?

    @Option(help: ArgumentHelp("Refuse images of more pixels than this, before decoding them, and artifacts that record " +
                               "such an image (default: \(defaultMaxDecodedPixels)).", valueName: "pixels"))
    public var maxPixels: Int?

    @Option(help: "Largest dataset an input artifact may announce, in MiB (default: a quarter of the physical memory).")
    public var maxDatasetMb: Int?

    public init() {}

    public func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let maxPixels, maxPixels < 1 { throw ValidationError("--max-pixels must be at least 1") }
        if let maxDatasetMb, !(1...(Int.max >> 20)).contains(maxDatasetMb) {
            throw ValidationError("--max-dataset-mb must be at least 1")
        }
    }

    /// Applies the options to the process (call first in `run()`).
    public func apply() {
        if let threads { setBLASThreads(threads) }
        if let maxPixels { setDecodePixelLimit(maxPixels) }
        if let maxDatasetMb { ArtifactLimits.maxDatasetBytes = maxDatasetMb << 20 }
    }
}

/// Runs a stage's work and turns any failure into one line on standard error ("tool: file:
/// problem") and a non-zero exit.
public func runStage(_ tool: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ValidationError {
        throw error
    } catch {
        report("\(tool): \(oneLine(error))")
        throw ExitCode.failure
    }
}

extension FlowKind: ExpressibleByArgument {}
extension Regularization: ExpressibleByArgument {}
extension QueryRows: ExpressibleByArgument {}
extension TileSelection: ExpressibleByArgument {}
extension SamplingStrategy: ExpressibleByArgument {}

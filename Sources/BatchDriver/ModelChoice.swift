import Foundation
import Pipeline
import VLMModels

/// Which models a run uses: the given ones, else the official weights `make weights` put in
/// `weights/`, else the parity bundles' architecture-exact random weights — which run the
/// pipeline but make meaningless maps and masks, so every run that uses them says so.
public struct ModelChoice: Sendable {
    public let vlm: String
    public let sam: String
    public let warnings: [String]

    public init(vlm givenVLM: String?, sam givenSAM: String?) throws {
        let shared = ProcessInfo.processInfo.environment["VLSAM_SHARED"] ?? "../shared"
        func pick(_ given: String?, official: String, random: String, what: String) throws -> String {
            if let given { return given }
            if FileManager.default.fileExists(atPath: official) { return official }
            let fallback = (shared as NSString).appendingPathComponent(random)
            guard FileManager.default.fileExists(atPath: fallback) else {
                throw StageError(official, "missing (run make weights, or give --\(what)); the random-weight fallback \(fallback) is missing too")
            }
            return fallback
        }
        vlm = try pick(givenVLM, official: "weights/SmolVLM-256M-Instruct", random: "parity/smolvlm-tiny", what: "vlm")
        sam = try pick(givenSAM, official: "weights/efficient_sam_vitt.pt", random: "parity/efficientsam-vitt/weights.pt", what: "sam")
        warnings = [vlm, sam].filter { $0.contains("parity/") }.map {
            "\($0) holds random weights (a parity bundle): the maps and masks of this run mean nothing; run make weights"
        }
    }

    public func loadVLM() throws -> SmolVLMBundle { try SmolVLMBundle(directory: vlm) }
    public func loadSAM() throws -> LoadedModel { try LoadedModel(checkpoint: sam) }
}

/// The photos of a folder: .jpg, .jpeg and .png in any case, sorted by name.
public func photoFiles(in folder: String) throws -> [String] {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
        throw StageError(folder, "is not a folder")
    }
    return try FileManager.default.contentsOfDirectory(atPath: folder)
        .filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) && !$0.hasPrefix(".") }
        .sorted()
        .map { (folder as NSString).appendingPathComponent($0) }
}

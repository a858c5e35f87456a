import Checkpoints
import SAMModels

/// A SAM-family model with the identity its artifacts record.
public struct LoadedModel {
    public let model: SegmentAnythingModel
    public let checkpointPath: String
    public let checkpointSHA256: String

    public init(checkpoint path: String) throws {
        let stateDict = try loadCheckpoint(path)
        model = try SegmentAnythingModel(stateDict: stateDict)
        checkpointPath = path
        checkpointSHA256 = try sha256Hex(ofFile: path)
    }
}

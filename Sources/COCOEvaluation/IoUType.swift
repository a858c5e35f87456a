/// What detections are compared by: masks (`segm`) or boxes (`bbox`), as COCOeval's `iouType`.
public enum IoUType: String, Sendable, Codable, CaseIterable {
    case segm
    case bbox
}

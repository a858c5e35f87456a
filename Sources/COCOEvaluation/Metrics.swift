import Foundation

/// What an evaluation found: COCOeval's twelve figures overall and per category, with what was
/// evaluated. Encodes to the metrics JSON `vlsam-eval --output` writes (README, "vlsam-eval").
public struct Metrics: Codable, Sendable, Equatable {
    /// The twelve figures in COCOeval's order (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100,
    /// ARs, ARm, ARl); -1 where COCOeval gives -1 (nothing to average).
    public struct Figures: Codable, Sendable, Equatable {
        public static let names = Summary.figures.map(\.name)
        public var values: [Double]

        public init(values: [Double]) {
            precondition(values.count == Self.names.count, "\(values.count) figures, not \(Self.names.count)")
            self.values = values
        }

        public subscript(name: String) -> Double? { Self.names.firstIndex(of: name).map { values[$0] } }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: NameKey.self)
            for (name, value) in zip(Self.names, values) { try container.encode(value, forKey: NameKey(name)) }
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: NameKey.self)
            values = try Self.names.map { try container.decode(Double.self, forKey: NameKey($0)) }
        }
    }

    public struct Category: Codable, Sendable, Equatable {
        public var id: Int
        public var name: String
        /// Annotations of the category that are not crowd regions, and crowd regions.
        public var groundTruth: Int
        public var crowd: Int
        public var detections: Int
        public var figures: Figures

        enum CodingKeys: String, CodingKey {
            case id, name, crowd, detections, figures
            case groundTruth = "ground_truth"
        }
    }

    /// An input file: its path as given and its SHA-256 (nil for data that came from memory).
    public struct Input: Codable, Sendable, Equatable {
        public var path: String
        public var sha256: String?
    }

    public struct Counts: Codable, Sendable, Equatable {
        public var images: Int
        public var categories: Int
        /// Annotations of listed images and categories (crowd regions included), and the crowd regions among them.
        public var groundTruth: Int
        public var crowd: Int
        public var detections: Int

        enum CodingKeys: String, CodingKey {
            case images, categories, crowd, detections
            case groundTruth = "ground_truth"
        }
    }

    public var schema = "vlsam.coco-metrics"
    public var version = 1
    public var iouType: IoUType
    public var stats: Figures
    public var perCategory: [Category]
    public var groundTruth: Input
    public var results: Input
    public var counts: Counts

    enum CodingKeys: String, CodingKey {
        case schema, version, stats, counts, results
        case iouType = "iou_type"
        case perCategory = "per_category"
        case groundTruth = "ground_truth"
    }

    /// The JSON text: keys sorted, two-space indentation.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// Writes `json()` to `path`, replacing it atomically.
    public func write(to path: String) throws {
        do {
            try json().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw EvaluationError(path, "cannot write (\(error.localizedDescription))")
        }
    }
}

private struct NameKey: CodingKey {
    let stringValue: String
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}

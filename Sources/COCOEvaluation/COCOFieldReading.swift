import COCOFormat

/// Readers of the COCO fields that ground truth and results share.
extension JSONReader {
    /// `bbox`: [x, y, width, height]; nil for an empty list (pycocotools' loadRes treats `[]` as no box).
    mutating func readBox() throws -> COCOBox? {
        var values = [Double]()
        values.reserveCapacity(4)
        try readArray { reader in values.append(try reader.readDouble()) }
        if values.isEmpty { return nil }
        guard values.count == 4 else { throw error("bbox has \(values.count) numbers, not 4") }
        return COCOBox(x: values[0], y: values[1], width: values[2], height: values[3])
    }

    /// `segmentation`: a list of polygons, or `{"size": [h, w], "counts": …}` with counts either
    /// pycocotools' compressed string or the uncompressed list of run lengths.
    mutating func readSegmentation() throws -> COCOSegmentation {
        if try peekKind() == .array {
            var polygons = [[Double]]()
            try readArray { reader in
                var polygon = [Double]()
                try reader.readArray { reader in polygon.append(try reader.readDouble()) }
                polygons.append(polygon)
            }
            return .polygons(polygons)
        }
        var size: [Int]? = nil
        var mask: RunLengthMask? = nil
        // Counts met before the size wait for it.
        var pendingCompressed: [UInt8]? = nil
        var pendingUncompressed: [UInt32]? = nil
        try readObject { key, reader in
            switch key {
            case "size":
                var values = [Int]()
                try reader.readArray { reader in values.append(try reader.readInt()) }
                guard values.count == 2 else { throw reader.error("segmentation size has \(values.count) numbers, not [height, width]") }
                size = values
            case "counts":
                if try reader.peekKind() == .array {
                    var counts = [UInt32]()
                    try reader.readArray { reader in
                        let count = try reader.readInt()
                        guard count >= 0, count <= Int(UInt32.max) else { throw reader.error("run length \(count) is outside 0 … 2^32 - 1") }
                        counts.append(UInt32(count))
                    }
                    pendingUncompressed = counts
                } else if let size {
                    do {
                        mask = try reader.withStringBytes { try RunLengthMask(compressed: $0, height: size[0], width: size[1]) }
                    } catch let problem as RunLengthError {
                        throw reader.error("segmentation: \(problem)")
                    }
                } else {
                    pendingCompressed = try reader.withStringBytes { Array($0) }
                }
            default:
                try reader.skipValue()
            }
        }
        guard let size else { throw error("segmentation has no \"size\": [height, width]") }
        if let counts = pendingUncompressed {
            mask = try runLengths { try RunLengthMask(height: size[0], width: size[1], counts: counts) }
        } else if let text = pendingCompressed {
            mask = try runLengths { try text.withUnsafeBufferPointer { try RunLengthMask(compressed: $0, height: size[0], width: size[1]) } }
        }
        guard let mask else { throw error("segmentation has no \"counts\"") }
        return .runLengths(mask)
    }

    /// Run-length problems as errors at the current place.
    func runLengths(_ make: () throws -> RunLengthMask) throws -> RunLengthMask {
        do {
            return try make()
        } catch let problem as RunLengthError {
            throw error("segmentation: \(problem)")
        }
    }
}

/// Decodes a dataspace message (versions 1 and 2) within its bounds into its dimensions and
/// element count (1 for a scalar, 0 for a null dataspace).
enum DataspaceCheck {
    /// libhdf5's own limit on the rank.
    private static let maximumRank = 32

    static func extent(_ cursor: inout HDF5Cursor) throws -> (dimensions: [Int], count: Int) {
        let version = try cursor.u8(), rank = try cursor.u8(), flags = try cursor.u8()
        // Version 1 knows no null dataspace: rank 0 is a scalar.
        var kind = rank == 0 ? 0 : 1
        switch version {
        case 1: try cursor.skip(5)
        case 2: kind = try cursor.u8()
        default: throw HDF5LayoutProblem.unsupported("dataspace version \(version)")
        }
        guard rank <= maximumRank, flags & ~1 == 0, kind <= 2, (kind == 1) == (rank > 0) else {
            throw HDF5LayoutProblem.corrupt("\(cursor.what) stores a dataspace of kind \(kind), rank \(rank), flags \(flags)")
        }
        let dimensions = try (0..<rank).map { _ in try cursor.length() }
        guard let count = product(dimensions) else {
            throw HDF5LayoutProblem.corrupt("\(cursor.what) stores a dataspace of more than \(Int.max) elements")
        }
        if flags & 1 != 0 { try cursor.skip(rank * 8) }  // maximum dimensions
        return (dimensions, kind == 2 ? 0 : count)
    }

    /// The product of `sizes`, nil when it overflows.
    static func product(_ sizes: [Int]) -> Int? {
        var product = 1, overflow = false
        for size in sizes where !overflow { (product, overflow) = product.multipliedReportingOverflow(by: size) }
        return overflow ? nil : product
    }
}

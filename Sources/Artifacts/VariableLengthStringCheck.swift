/// Checks stored variable-length string references against the global heap collections before
/// libhdf5 follows them. libhdf5 1.10.8 trusts them: `H5HG_read` indexes the collection's object
/// table with the stored index unchecked (a segmentation fault), copies the object's whole size
/// into a buffer sized by the stored length (an overflow), and `H5T__conv_vlen` allocates and
/// fills whatever length is stored (4 GB for a damaged one). A reference must name an object of
/// a collection, with exactly the object's length; address 0 is the empty (null) string.
enum VariableLengthStringCheck {
    /// Global heap collections by file address: their objects' sizes by index.
    typealias Collections = [Int: [Int: Int]]

    static func check(_ count: Int, referencesAt cursor: inout HDF5Cursor, collections: Collections) throws {
        for element in 0..<count {
            let length = try cursor.u32(), collection = try cursor.address(), index = try cursor.u32()
            guard collection != 0 else { continue }
            guard let collection, let objects = collections[collection], let size = objects[index] else {
                throw HDF5LayoutProblem.corrupt("\(cursor.what): string \(element) refers to object \(index) of a global heap " +
                                                "collection at byte \(collection.map(String.init) ?? "(undefined)"), which does not exist")
            }
            guard size == length else {
                throw HDF5LayoutProblem.corrupt("\(cursor.what): string \(element) claims \(length) bytes, " +
                                                "its global heap object holds \(size)")
            }
        }
    }
}

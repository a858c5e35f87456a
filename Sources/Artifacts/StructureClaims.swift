/// The addresses of the structures the check has read. In a file libhdf5 writes, no B-tree
/// node, symbol table node, local heap, header continuation or string table belongs to two
/// owners, so one reached twice is a cycle (libhdf5 would walk it forever) or shared on purpose
/// (making the check read it once per owner, quadratic in the file's size): both are refused.
final class StructureClaims {
    private var claimed: Set<Int> = []

    func claim(_ address: Int, what: @autoclosure () -> String) throws {
        guard claimed.insert(address).inserted else { throw HDF5LayoutProblem.corrupt("\(what()) is reached twice") }
    }
}

/// Decodes an attribute message (versions 1 to 3) within its bounds: the name must end with its
/// NUL, the datatype and dataspace must fit their stated sizes, the values the message's rest,
/// and variable-length string values must refer to existing global heap objects. libhdf5 1.10.8
/// copies the name with `strdup` and the values by their computed size without these checks.
enum AttributeMessageCheck {
    static func check(_ cursor: inout HDF5Cursor, collections: VariableLengthStringCheck.Collections) throws {
        let version = try cursor.u8(), flags = try cursor.u8()
        guard (1...3).contains(version) else { throw HDF5LayoutProblem.unsupported("attribute message version \(version)") }
        guard version == 1 || flags == 0 else { throw HDF5LayoutProblem.unsupported("attributes with shared datatypes or dataspaces") }
        let nameSize = try cursor.u16(), datatypeSize = try cursor.u16(), dataspaceSize = try cursor.u16()
        if version == 3 { try cursor.skip(1) }  // the name's character set
        // Version 1 pads each of the three parts to a multiple of 8 bytes.
        func part(_ size: Int, what: String) throws -> HDF5Cursor {
            let bytes = try cursor.take(size, what: what)
            if version == 1 { try cursor.skip((8 - size % 8) % 8) }
            return bytes
        }
        var name = try part(nameSize, what: cursor.what)
        let what = "attribute \"\(try name.name(count: nameSize))\" in \(cursor.what)"
        var datatypeBytes = try part(datatypeSize, what: what)
        let datatype = try DatatypeCheck.decode(&datatypeBytes)
        var dataspaceBytes = try part(dataspaceSize, what: what)
        let elements = try DataspaceCheck.extent(&dataspaceBytes).count
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: datatype.size)
        guard !overflow, bytes <= cursor.remaining else {
            throw HDF5LayoutProblem.corrupt("\(what) holds \(elements) values of \(datatype.size) bytes in \(cursor.remaining)")
        }
        var values = try cursor.take(bytes, what: what)
        if datatype.isVariableLengthString {
            try VariableLengthStringCheck.check(elements, referencesAt: &values, collections: collections)
        }
    }
}

import Foundation

/// Reads a JSON file whose top level is an object, with one-line errors naming the file.
func readJSONObject(at path: String) throws -> [String: Any] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw TokenizerError(source: path, "no such file")
    }
    guard !isDirectory.boolValue else { throw TokenizerError(source: path, "is a directory, expected a JSON file") }
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw TokenizerError(source: path, "cannot be read (\(error.localizedDescription))")
    }
    guard !data.isEmpty else { throw TokenizerError(source: path, "file is empty (0 bytes)") }
    let parsed: Any
    do {
        parsed = try JSONSerialization.jsonObject(with: data)
    } catch {
        let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
        throw TokenizerError(source: path, "not valid JSON (\(detail))")
    }
    guard let object = parsed as? [String: Any] else {
        throw TokenizerError(source: path, "top level is not a JSON object")
    }
    return object
}

/// JSON `null` as JSONSerialization gives it, or a missing key.
func isAbsent(_ value: Any?) -> Bool {
    value == nil || value is NSNull
}

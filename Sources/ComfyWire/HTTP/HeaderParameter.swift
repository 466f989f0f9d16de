/// Parameters of a header value such as `form-data; name="image"; filename="a;b.png"` (RFC 7578 / RFC 2183):
/// `key=token` or `key="quoted string"`, where a quoted string may hold `;`. A backslash is a plain character, as
/// browsers send it (they write a `"` in a file name as `%22`).
public enum HeaderParameter {
    public static func value(_ key: String, in header: String) -> String? {
        var index = header.startIndex
        while index < header.endIndex {
            // Skip to the start of a parameter name.
            while index < header.endIndex, header[index] == ";" || header[index] == " " || header[index] == "\t" {
                index = header.index(after: index)
            }
            let nameStart = index
            while index < header.endIndex, header[index] != "=", header[index] != ";" { index = header.index(after: index) }
            let name = header[nameStart..<index].trimmingSpaces()
            guard index < header.endIndex, header[index] == "=" else { continue }
            index = header.index(after: index)
            var value = ""
            if index < header.endIndex, header[index] == "\"" {
                index = header.index(after: index)
                while index < header.endIndex, header[index] != "\"" {
                    value.append(header[index])
                    index = header.index(after: index)
                }
                if index < header.endIndex { index = header.index(after: index) }
            } else {
                let start = index
                while index < header.endIndex, header[index] != ";" { index = header.index(after: index) }
                value = String(header[start..<index]).trimmingSpaces()
            }
            if name.lowercased() == key.lowercased() { return value }
        }
        return nil
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

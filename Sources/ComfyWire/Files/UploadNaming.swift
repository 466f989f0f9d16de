/// ComfyUI's rules for where an upload lands (comfyui-api.md §2.9, §5.4), as pure functions, so a node and
/// a coordinator that keeps its files in a database name them alike.
public enum UploadNaming {
    /// The n-th name tried when `filename` is taken by other bytes: `"stem (n).ext"`, split as Python's
    /// `os.path.splitext` does (a leading dot is part of the stem).
    public static func candidate(_ filename: String, _ n: Int) -> String {
        guard n > 0 else { return filename }
        let scalars = Array(filename.unicodeScalars)
        var dot: Int?
        for index in scalars.indices.reversed() where scalars[index] == "." {
            // Python's splitext ignores leading dots: ".hidden" has no extension.
            if scalars[..<index].contains(where: { $0 != "." }) { dot = index }
            break
        }
        guard let dot else { return "\(filename) (\(n))" }
        var stem = String.UnicodeScalarView()
        stem.append(contentsOf: scalars[..<dot])
        var ext = String.UnicodeScalarView()
        ext.append(contentsOf: scalars[dot...])
        return "\(String(stem)) (\(n))\(String(ext))"
    }

    /// A subfolder as ComfyUI's `os.path.normpath` leaves it, or nil when it would leave its root
    /// (`..` above the root, an absolute path) or holds a character no portable path may (NUL, backslash).
    public static func normalizedSubfolder(_ subfolder: String) -> String? {
        guard !subfolder.hasPrefix("/"), !subfolder.contains("\0"), !subfolder.contains("\\") else { return nil }
        var parts: [Substring] = []
        for part in subfolder.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                guard !parts.isEmpty else { return nil }
                parts.removeLast()
            default: parts.append(part)
            }
        }
        return parts.joined(separator: "/")
    }

    /// Whether a file name is one plain path component: not empty, no separator, no traversal, no NUL.
    public static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\\") && !name.contains("\0")
    }
}

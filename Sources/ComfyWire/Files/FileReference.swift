/// A file named in a node input, such as `"clipspace/mask.png [input]"`: a path under one of the server's roots.
public struct FileReference: Sendable, Hashable {
    /// The server root a reference resolves against (the `type` of uploads and `/view`).
    public enum Kind: String, Sendable, CaseIterable {
        case input, output, temp

        /// The suffix ComfyUI checks with `endswith`, e.g. `"[input]"`.
        public var suffix: String { "[\(rawValue)]" }
    }

    /// The directory part under the root, `""` when none.
    public var subfolder: String
    /// The last path component.
    public var filename: String
    /// The root named by a `" [kind]"` suffix; nil when the value has none.
    public var annotation: Kind?

    public init(subfolder: String = "", filename: String, annotation: Kind? = nil) {
        self.subfolder = subfolder
        self.filename = filename
        self.annotation = annotation
    }

    /// Reads a value as ComfyUI's `annotated_filepath` does: a `[kind]` suffix and one more character
    /// before it are stripped (so `"x.png[temp]"` names `"x.pn"`), then the path splits at its last `/`.
    public init(parsing value: String) {
        var scalars = Substring(value).unicodeScalars
        let annotation = Self.annotation(of: value)
        if let annotation {
            scalars.removeLast(min(scalars.count, annotation.suffix.unicodeScalars.count + 1))
        }
        guard let slash = scalars.lastIndex(of: "/") else {
            self.init(filename: String(scalars), annotation: annotation)
            return
        }
        self.init(
            subfolder: String(Substring(scalars[..<slash])),
            filename: String(Substring(scalars[scalars.index(after: slash)...])),
            annotation: annotation
        )
    }

    /// The path relative to the root: `"sub/x.png"` or `"x.png"`.
    public var path: String { subfolder.isEmpty ? filename : "\(subfolder)/\(filename)" }

    /// The value as a node input carries it: the path, plus `" [kind]"` when annotated.
    public var stringValue: String {
        guard let annotation else { return path }
        return "\(path) \(annotation.suffix)"
    }

    /// The root the reference resolves against: nodes default to `.input`, `/view` to `.output`.
    public func kind(default defaultKind: Kind) -> Kind { annotation ?? defaultKind }

    /// Whether ComfyUI would treat the value as annotated (it ends with `[input]`, `[output]` or `[temp]`).
    public static func looksAnnotated(_ value: String) -> Bool {
        annotation(of: value) != nil
    }

    /// Compares unicode scalars, as Python's `str.endswith` does, rather than Swift characters.
    private static func annotation(of value: String) -> Kind? {
        Kind.allCases.first { value.unicodeScalars.reversed().starts(with: $0.suffix.unicodeScalars.reversed()) }
    }
}

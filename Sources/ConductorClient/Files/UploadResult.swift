import ComfyWire

/// Where an upload landed: the name may differ from the one sent (`x (1).png`).
public struct UploadResult: Sendable, Hashable {
    public var name: String
    public var subfolder: String
    public var type: String
    public var json: JSONValue

    /// The value a LoadImage input takes: `subfolder/name`, annotated unless the type is `input`.
    public var inputValue: String {
        let path = subfolder.isEmpty ? name : "\(subfolder)/\(name)"
        return type == "input" ? path : "\(path) [\(type)]"
    }
}

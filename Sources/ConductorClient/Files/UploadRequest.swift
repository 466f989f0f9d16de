/// What `POST /upload/image` or `/upload/mask` takes.
public struct UploadRequest: Sendable {
    public var filename: String
    public var bytes: [UInt8]
    /// `input` (ComfyUI's default), `temp` or `output`.
    public var type: String
    public var subfolder: String
    /// Replace a file of the same name instead of getting `name (1).png`.
    public var overwrite: Bool
    /// For a mask: the image whose alpha channel it replaces (`original_ref`).
    public var maskFor: OutputFile?

    public init(filename: String, bytes: [UInt8], type: String = "input", subfolder: String = "", overwrite: Bool = false, maskFor: OutputFile? = nil)
    {
        self.filename = filename
        self.bytes = bytes
        self.type = type
        self.subfolder = subfolder
        self.overwrite = overwrite
        self.maskFor = maskFor
    }
}

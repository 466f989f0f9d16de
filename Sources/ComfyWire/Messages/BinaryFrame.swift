/// A binary WebSocket frame from a ComfyUI server: a 4-byte big-endian event type, then the payload.
public enum BinaryFrame: Sendable, Hashable {
    /// The image encoding announced in event 1.
    public enum ImageFormat: UInt32, Sendable {
        case jpeg = 1
        case png = 2
    }

    /// Event 1: a sampler preview or `SaveImageWebsocket` image, for clients without `supports_preview_metadata`.
    case previewImage(format: ImageFormat, image: [UInt8])
    /// Event 2: ComfyUI's internal unencoded preview; never sent by a real server, kept raw.
    case unencodedPreviewImage(payload: [UInt8])
    /// Event 3: progress text for a node's UI, always broadcast.
    case text(nodeID: String, text: String)
    /// Event 4: a preview with its node/prompt metadata, for clients with `supports_preview_metadata`.
    case previewImageWithMetadata(metadata: JSONObject, image: [UInt8])

    public var eventType: UInt32 {
        switch self {
        case .previewImage: 1
        case .unencodedPreviewImage: 2
        case .text: 3
        case .previewImageWithMetadata: 4
        }
    }

    public init(bytes: some Collection<UInt8>) throws(WireFormatError) {
        let bytes = Array(bytes)
        guard let event = Self.readUInt32(bytes, at: 0) else {
            throw WireFormatError("binary frame of \(bytes.count) bytes is shorter than its 4-byte event type")
        }
        switch event {
        case 1:
            guard let rawFormat = Self.readUInt32(bytes, at: 4) else {
                throw WireFormatError("preview image frame of \(bytes.count) bytes has no 4-byte image format")
            }
            guard let format = ImageFormat(rawValue: rawFormat) else {
                throw WireFormatError("preview image frame has unknown image format \(rawFormat)")
            }
            self = .previewImage(format: format, image: Array(bytes[8...]))
        case 2:
            self = .unencodedPreviewImage(payload: Array(bytes[4...]))
        case 3:
            let (head, rest) = try Self.splitLengthPrefixed(bytes, what: "text frame node id")
            guard let nodeID = String(validating: head, as: UTF8.self) else {
                throw WireFormatError("text frame node id is not valid UTF-8")
            }
            guard let text = String(validating: rest, as: UTF8.self) else {
                throw WireFormatError("text frame text is not valid UTF-8")
            }
            self = .text(nodeID: nodeID, text: text)
        case 4:
            let (head, rest) = try Self.splitLengthPrefixed(bytes, what: "preview metadata")
            let metadata: JSONValue
            do {
                metadata = try JSONValue(parsing: head)
            } catch {
                throw WireFormatError("preview metadata is not valid JSON: \(error)")
            }
            guard case .object(let object) = metadata else {
                throw WireFormatError("preview metadata must be a JSON object, got \(metadata.typeName)")
            }
            self = .previewImageWithMetadata(metadata: object, image: rest)
        default:
            throw WireFormatError("binary frame has unknown event type \(event)")
        }
    }

    /// The frame as sent; event 4 metadata is written as Python's `json.dumps` does, as ComfyUI sends it.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        Self.appendUInt32(eventType, to: &out)
        switch self {
        case .previewImage(let format, let image):
            Self.appendUInt32(format.rawValue, to: &out)
            out.append(contentsOf: image)
        case .unencodedPreviewImage(let payload):
            out.append(contentsOf: payload)
        case .text(let nodeID, let text):
            let id = Array(nodeID.utf8)
            Self.appendUInt32(UInt32(id.count), to: &out)
            out.append(contentsOf: id)
            out.append(contentsOf: text.utf8)
        case .previewImageWithMetadata(let metadata, let image):
            let json = JSONValue.object(metadata).serialized(.python)
            Self.appendUInt32(UInt32(json.count), to: &out)
            out.append(contentsOf: json)
            out.append(contentsOf: image)
        }
        return out
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32? {
        guard bytes.count >= offset + 4 else { return nil }
        return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func appendUInt32(_ value: UInt32, to out: inout [UInt8]) {
        out.append(contentsOf: [
            UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)
        ])
    }

    /// Splits the payload after the event type into a `u32 length`-prefixed head and the remaining bytes.
    private static func splitLengthPrefixed(_ bytes: [UInt8], what: String) throws(WireFormatError) -> ([UInt8], [UInt8]) {
        guard let length = readUInt32(bytes, at: 4) else {
            throw WireFormatError("\(what): frame of \(bytes.count) bytes has no 4-byte length")
        }
        let available = bytes.count - 8
        guard UInt64(length) <= UInt64(available) else {
            throw WireFormatError("\(what): length \(length) exceeds the \(available) bytes that follow")
        }
        let end = 8 + Int(length)
        return (Array(bytes[8..<end]), Array(bytes[end...]))
    }
}

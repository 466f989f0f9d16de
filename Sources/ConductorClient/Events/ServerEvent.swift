import ComfyWire

/// One frame from the server's WebSocket.
public enum ServerEvent: Sendable, Hashable {
    case message(ServerMessage)
    case binary(BinaryFrame)
    /// A frame this client cannot read (not JSON, or a binary frame of an unknown event type), kept for `--json`.
    case unreadable(JSONValue)

    init(text: String) {
        guard let json = try? JSONValue(parsing: text) else {
            self = .unreadable(["type": "unreadable", "text": .string(text)])
            return
        }
        if let message = try? ServerMessage(json: json) { self = .message(message) } else { self = .unreadable(json) }
    }

    init(bytes: [UInt8]) {
        if let frame = try? BinaryFrame(bytes: bytes) {
            self = .binary(frame)
        } else {
            self = .unreadable(["type": "binary", "size": .int(bytes.count)])
        }
    }

    /// The frame as one JSON document for `conductor watch --json`: text frames as sent, binary
    /// frames summarised (`{"type": "binary", "event": 1, "size": …}`).
    public var json: JSONValue {
        switch self {
        case .message(let message):
            return message.json
        case .unreadable(let json):
            return json
        case .binary(let frame):
            var object: JSONObject = ["type": "binary", "event": .int(Int(frame.eventType))]
            switch frame {
            case .previewImage(let format, let image):
                object["format"] = format == .png ? "png" : "jpeg"
                object["size"] = .int(image.count)
            case .previewImageWithMetadata(let metadata, let image):
                object["metadata"] = .object(metadata)
                object["size"] = .int(image.count)
            case .text(let nodeID, let text):
                object["node"] = .string(nodeID)
                object["text"] = .string(text)
            case .unencodedPreviewImage(let payload):
                object["size"] = .int(payload.count)
            }
            return .object(object)
        }
    }
}

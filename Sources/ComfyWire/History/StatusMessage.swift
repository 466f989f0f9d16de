/// A lifecycle message kept in a history status, stored as the pair `[event, data]`.
public struct StatusMessage: Sendable, Hashable {
    /// The websocket message type, e.g. `"execution_success"`.
    public var event: String
    public var data: JSONObject

    public init(event: String, data: JSONObject) {
        self.event = event
        self.data = data
    }

    public init(json: JSONValue) throws(WireFormatError) {
        let context = "history status message"
        let pair = try json.array(in: context)
        guard pair.count == 2, let event = pair[0].stringValue else {
            throw WireFormatError("\(context) must be [event, data]")
        }
        self.init(event: event, data: try pair[1].object(in: "\(context) data"))
    }

    public var json: JSONValue { [.string(event), .object(data)] }

    /// The same event as the websocket message that was sent when it happened.
    public var serverMessage: ServerMessage {
        get throws(WireFormatError) { try ServerMessage(json: ["type": .string(event), "data": .object(data)]) }
    }
}

import ComfyWire

/// The body of `POST /prompt`: a graph, who gets its events, and where it goes in the queue.
public struct PromptRequest: Sendable, Hashable {
    public var prompt: JSONValue
    /// The WebSocket client that receives the prompt's execution events.
    public var clientID: String?
    /// Run before everything already queued (ComfyUI gives it a negative priority number).
    public var front: Bool
    /// An explicit priority; lower runs first. The server ignores `front` when this is set.
    public var number: JSONNumber?
    public var extraData: JSONObject

    public init(prompt: JSONValue, clientID: String? = nil, front: Bool = false, number: JSONNumber? = nil, extraData: JSONObject = [:]) {
        self.prompt = prompt
        self.clientID = clientID
        self.front = front
        self.number = number
        self.extraData = extraData
    }

    public var json: JSONValue {
        var body: JSONObject = ["prompt": prompt]
        if let clientID { body["client_id"] = .string(clientID) }
        if front { body["front"] = true }
        if let number { body["number"] = .number(number) }
        if !extraData.isEmpty { body["extra_data"] = .object(extraData) }
        return .object(body)
    }
}

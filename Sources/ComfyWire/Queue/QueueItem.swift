/// A prompt as `/queue` and `/history` list it: `[number, prompt_id, prompt, extra_data, outputs_to_execute]`.
public struct QueueItem: Sendable, Hashable {
    /// The queue priority; lower runs first, and `front: true` submissions are negative.
    public var number: JSONNumber
    public var promptID: String
    /// The API-format graph as the server stored it.
    public var prompt: JSONValue
    /// `client_id`, `create_time` and any `extra_data` the client sent, minus sensitive keys.
    public var extraData: JSONObject
    /// Ids of the output nodes that passed validation, in no particular order.
    public var outputsToExecute: [String]

    public init(
        number: JSONNumber, promptID: String, prompt: JSONValue, extraData: JSONObject, outputsToExecute: [String]
    ) {
        self.number = number
        self.promptID = promptID
        self.prompt = prompt
        self.extraData = extraData
        self.outputsToExecute = outputsToExecute
    }

    /// Reads the array; a sixth element (sensitive data leaked by servers before 0.3.68) is dropped.
    public init(json: JSONValue) throws(WireFormatError) {
        let context = "queue item"
        let elements = try json.array(in: context)
        guard elements.count >= 5 else {
            throw WireFormatError("\(context) must have 5 elements, got \(elements.count)")
        }
        guard let number = elements[0].numberValue else {
            throw WireFormatError("\(context) number must be a number, got \(elements[0].typeName)")
        }
        guard let promptID = elements[1].stringValue else {
            throw WireFormatError("\(context) prompt_id must be a string, got \(elements[1].typeName)")
        }
        self.init(
            number: number,
            promptID: promptID,
            prompt: elements[2],
            extraData: try elements[3].object(in: "\(context) extra_data"),
            outputsToExecute: try elements[4].strings(in: "\(context) outputs_to_execute")
        )
    }

    public var json: JSONValue {
        [.number(number), .string(promptID), prompt, .object(extraData), .strings(outputsToExecute)]
    }

    /// The websocket client that owns the prompt's execution messages.
    public var clientID: String? { extraData["client_id"]?.stringValue }

    /// When the server accepted the prompt, in epoch milliseconds.
    public var createTime: Int64? { extraData["create_time"]?.numberValue?.int64 }
}

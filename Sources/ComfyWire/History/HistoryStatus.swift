/// How a finished prompt ended, with the lifecycle messages that were sent for it.
public struct HistoryStatus: Sendable, Hashable {
    /// `"success"`, or `"error"` for both failures and interrupts.
    public var statusStr: String
    public var completed: Bool
    /// `execution_start`, `execution_cached`, then `execution_success`, `execution_error` or `execution_interrupted`.
    public var messages: [StatusMessage]

    public init(statusStr: String, completed: Bool, messages: [StatusMessage]) {
        self.statusStr = statusStr
        self.completed = completed
        self.messages = messages
    }

    public init(json: JSONValue) throws(WireFormatError) {
        let context = "history status"
        let object = try json.object(in: context)
        var messages: [StatusMessage] = []
        for message in try object.value("messages", in: context).array(in: "\(context) messages") {
            messages.append(try StatusMessage(json: message))
        }
        self.init(
            statusStr: try object.string("status_str", in: context),
            completed: try object.bool("completed", in: context),
            messages: messages
        )
    }

    public var json: JSONValue {
        ["status_str": .string(statusStr), "completed": .bool(completed), "messages": .array(messages.map(\.json))]
    }
}

/// The data of an `execution_error` message: a node raised, or (without timestamp) execution was blocked.
public struct ExecutionError: Sendable, Hashable {
    public var promptID: String
    /// The real (top-level) id of the node that failed.
    public var nodeID: String
    public var nodeType: String
    /// Ids of the nodes that finished before the failure.
    public var executed: [String]
    public var exceptionMessage: String
    public var exceptionType: String
    public var traceback: [String]
    /// The failing node's stringified inputs (`{input: [values]}`), or `[]` for blocked and cycle errors.
    public var currentInputs: JSONValue
    /// Ids of the nodes whose outputs were cached when the prompt started (a JSON array).
    public var currentOutputs: JSONValue
    /// Epoch milliseconds; nil for the `ExecutionBlocked` form, which has no timestamp and does not end the prompt.
    public var timestamp: Int64?

    /// Whether the node ran out of GPU memory (PyTorch's `torch.OutOfMemoryError`, or CUDA's "out of memory").
    public var isOutOfMemory: Bool {
        exceptionType.hasSuffix("OutOfMemoryError") || exceptionMessage.lowercased().contains("out of memory")
    }

    public init(
        promptID: String, nodeID: String, nodeType: String, executed: [String], exceptionMessage: String,
        exceptionType: String, traceback: [String], currentInputs: JSONValue, currentOutputs: JSONValue,
        timestamp: Int64?
    ) {
        self.promptID = promptID
        self.nodeID = nodeID
        self.nodeType = nodeType
        self.executed = executed
        self.exceptionMessage = exceptionMessage
        self.exceptionType = exceptionType
        self.traceback = traceback
        self.currentInputs = currentInputs
        self.currentOutputs = currentOutputs
        self.timestamp = timestamp
    }

    /// True for the non-fatal `ExecutionBlocked` form: the prompt keeps running.
    public var isBlocked: Bool { timestamp == nil }

    public init(json: JSONValue) throws(WireFormatError) {
        let context = "execution_error data"
        let object = try json.object(in: context)
        self.init(
            promptID: try object.string("prompt_id", in: context),
            nodeID: try object.string("node_id", in: context),
            nodeType: try object.string("node_type", in: context),
            executed: try object.strings("executed", in: context),
            exceptionMessage: try object.string("exception_message", in: context),
            exceptionType: try object.string("exception_type", in: context),
            traceback: try object.strings("traceback", in: context),
            currentInputs: try object.value("current_inputs", in: context),
            currentOutputs: try object.value("current_outputs", in: context),
            timestamp: try object.optionalInt64("timestamp", in: context)
        )
    }

    /// The data object in ComfyUI's key order, `timestamp` last and only when set.
    public var json: JSONValue {
        var object: JSONObject = [
            "prompt_id": .string(promptID),
            "node_id": .string(nodeID),
            "node_type": .string(nodeType),
            "executed": .strings(executed),
            "exception_message": .string(exceptionMessage),
            "exception_type": .string(exceptionType),
            "traceback": .strings(traceback),
            "current_inputs": currentInputs,
            "current_outputs": currentOutputs
        ]
        if let timestamp { object["timestamp"] = .number(JSONNumber(timestamp)) }
        return .object(object)
    }
}

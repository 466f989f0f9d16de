/// The data of an `execution_interrupted` message: the prompt was stopped by `/interrupt`.
public struct ExecutionInterrupted: Sendable, Hashable {
    public var promptID: String
    /// The node that was running when the interrupt took effect.
    public var nodeID: String
    public var nodeType: String
    /// Ids of the nodes that finished before the interrupt.
    public var executed: [String]
    /// Epoch milliseconds.
    public var timestamp: Int64

    public init(promptID: String, nodeID: String, nodeType: String, executed: [String], timestamp: Int64) {
        self.promptID = promptID
        self.nodeID = nodeID
        self.nodeType = nodeType
        self.executed = executed
        self.timestamp = timestamp
    }

    public init(json: JSONValue) throws(WireFormatError) {
        let context = "execution_interrupted data"
        let object = try json.object(in: context)
        self.init(
            promptID: try object.string("prompt_id", in: context),
            nodeID: try object.string("node_id", in: context),
            nodeType: try object.string("node_type", in: context),
            executed: try object.strings("executed", in: context),
            timestamp: try object.int64("timestamp", in: context)
        )
    }

    /// The data object in ComfyUI's key order.
    public var json: JSONValue {
        [
            "prompt_id": .string(promptID),
            "node_id": .string(nodeID),
            "node_type": .string(nodeType),
            "executed": .strings(executed),
            "timestamp": .number(JSONNumber(timestamp))
        ]
    }
}

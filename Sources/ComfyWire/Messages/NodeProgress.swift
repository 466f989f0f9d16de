/// One node's entry in a `progress_state` message: where that node's execution stands.
public struct NodeProgress: Sendable, Hashable {
    public var nodeID: String
    public var value: JSONNumber
    public var max: JSONNumber
    /// `"running"` or `"finished"` (ComfyUI also defines `"error"` but never sends it).
    public var state: String
    public var promptID: String
    public var displayNodeID: String
    public var parentNodeID: String?
    public var realNodeID: String

    public init(
        nodeID: String, value: JSONNumber, max: JSONNumber, state: String, promptID: String,
        displayNodeID: String, parentNodeID: String? = nil, realNodeID: String
    ) {
        self.nodeID = nodeID
        self.value = value
        self.max = max
        self.state = state
        self.promptID = promptID
        self.displayNodeID = displayNodeID
        self.parentNodeID = parentNodeID
        self.realNodeID = realNodeID
    }

    /// Reads one value of `progress_state`'s `nodes` object.
    public init(json: JSONValue) throws(WireFormatError) {
        let context = "progress_state node"
        let object = try json.object(in: context)
        self.init(
            nodeID: try object.string("node_id", in: context),
            value: try object.number("value", in: context),
            max: try object.number("max", in: context),
            state: try object.string("state", in: context),
            promptID: try object.string("prompt_id", in: context),
            displayNodeID: try object.string("display_node_id", in: context),
            parentNodeID: try object.optionalString("parent_node_id", in: context),
            realNodeID: try object.string("real_node_id", in: context)
        )
    }

    /// The entry in ComfyUI's key order; `parent_node_id` is null for top-level nodes.
    public var json: JSONValue {
        [
            "value": .number(value),
            "max": .number(max),
            "state": .string(state),
            "node_id": .string(nodeID),
            "prompt_id": .string(promptID),
            "display_node_id": .string(displayNodeID),
            "parent_node_id": .string(orNull: parentNodeID),
            "real_node_id": .string(realNodeID)
        ]
    }
}

extension ServerMessage {
    /// Reads a `{"type", "data"}` frame; an unknown `type` becomes `.other`, a known one with the wrong shape throws.
    public init(json: JSONValue) throws(WireFormatError) {
        let envelope = try json.object(in: "server message")
        let type = try envelope.string("type", in: "server message")
        let data = try envelope.value("data", in: "server message")
        let context = "\(type) data"
        switch type {
        case "status":
            let object = try data.object(in: context)
            let execInfo = try object.object("status", in: context).object("exec_info", in: "\(context) status")
            let remaining = try execInfo.int64("queue_remaining", in: "\(context) exec_info")
            self = .status(queueRemaining: Int(remaining), sid: try object.optionalString("sid", in: context))
        case "feature_flags":
            self = .featureFlags(try data.object(in: context))
        case "execution_start":
            let object = try data.object(in: context)
            self = .executionStart(
                promptID: try object.string("prompt_id", in: context),
                timestamp: try object.int64("timestamp", in: context)
            )
        case "execution_cached":
            let object = try data.object(in: context)
            self = .executionCached(
                nodes: try object.strings("nodes", in: context),
                promptID: try object.string("prompt_id", in: context),
                timestamp: try object.int64("timestamp", in: context)
            )
        case "executing":
            let object = try data.object(in: context)
            guard object["node"] != nil else { throw WireFormatError("\(context): missing \"node\"") }
            self = .executing(
                node: try object.optionalString("node", in: context),
                displayNode: try object.optionalString("display_node", in: context),
                promptID: try object.optionalString("prompt_id", in: context)
            )
        case "progress":
            let object = try data.object(in: context)
            self = .progress(
                value: try object.number("value", in: context),
                max: try object.number("max", in: context),
                promptID: try object.optionalString("prompt_id", in: context),
                node: try object.optionalString("node", in: context)
            )
        case "progress_state":
            let object = try data.object(in: context)
            var nodes: [NodeProgress] = []
            for (_, entry) in try object.object("nodes", in: context) {
                nodes.append(try NodeProgress(json: entry))
            }
            self = .progressState(promptID: try object.string("prompt_id", in: context), nodes: nodes)
        case "executed":
            let object = try data.object(in: context)
            self = .executed(
                node: try object.string("node", in: context),
                displayNode: try object.string("display_node", in: context),
                output: try object.value("output", in: context),
                promptID: try object.string("prompt_id", in: context)
            )
        case "execution_success":
            let object = try data.object(in: context)
            self = .executionSuccess(
                promptID: try object.string("prompt_id", in: context),
                timestamp: try object.int64("timestamp", in: context)
            )
        case "execution_error":
            self = .executionError(try ExecutionError(json: data))
        case "execution_interrupted":
            self = .executionInterrupted(try ExecutionInterrupted(json: data))
        case "logs":
            let object = try data.object(in: context)
            self = .logs(entries: try object.value("entries", in: context), size: object["size"] ?? .null)
        default:
            self = .other(type: type, data: data)
        }
    }

    /// The whole frame, `{"type": …, "data": …}`, with `data` keys in the order ComfyUI sends them.
    public var json: JSONValue {
        ["type": .string(type), "data": data]
    }

    /// The `data` member alone.
    public var data: JSONValue {
        switch self {
        case .status(let queueRemaining, let sid):
            var object: JSONObject = ["status": ["exec_info": ["queue_remaining": .int(queueRemaining)]]]
            if let sid { object["sid"] = .string(sid) }
            return .object(object)
        case .featureFlags(let flags):
            return .object(flags)
        case .executionStart(let promptID, let timestamp), .executionSuccess(let promptID, let timestamp):
            return ["prompt_id": .string(promptID), "timestamp": .number(JSONNumber(timestamp))]
        case .executionCached(let nodes, let promptID, let timestamp):
            return [
                "nodes": .strings(nodes), "prompt_id": .string(promptID), "timestamp": .number(JSONNumber(timestamp))
            ]
        case .executing(let node, let displayNode, let promptID):
            var object: JSONObject = ["node": .string(orNull: node)]
            if let displayNode { object["display_node"] = .string(displayNode) }
            if let promptID { object["prompt_id"] = .string(promptID) }
            return .object(object)
        case .progress(let value, let max, let promptID, let node):
            return [
                "value": .number(value), "max": .number(max),
                "prompt_id": .string(orNull: promptID), "node": .string(orNull: node)
            ]
        case .progressState(let promptID, let nodes):
            let entries = JSONObject(nodes.map { ($0.nodeID, $0.json) })
            return ["prompt_id": .string(promptID), "nodes": .object(entries)]
        case .executed(let node, let displayNode, let output, let promptID):
            return [
                "node": .string(node), "display_node": .string(displayNode),
                "output": output, "prompt_id": .string(promptID)
            ]
        case .executionError(let error):
            return error.json
        case .executionInterrupted(let interrupted):
            return interrupted.json
        case .logs(let entries, let size):
            return ["entries": entries, "size": size]
        case .other(_, let data):
            return data
        }
    }
}

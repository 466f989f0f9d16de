/// One prompt's record in `GET /history`, written when the prompt finished.
public struct HistoryEntry: Sendable, Hashable {
    public var prompt: QueueItem
    /// Node id → that node's UI output, only for nodes that have one.
    public var outputs: JSONObject
    /// Nil when the server recorded no status (it then sends `null`).
    public var status: HistoryStatus?
    /// Node id → `{node_id, display_node, parent_node, real_node_id}`, with the same keys as `outputs`.
    public var meta: JSONObject

    public init(prompt: QueueItem, outputs: JSONObject = [:], status: HistoryStatus? = nil, meta: JSONObject = [:]) {
        self.prompt = prompt
        self.outputs = outputs
        self.status = status
        self.meta = meta
    }

    public init(json: JSONValue) throws(WireFormatError) {
        let context = "history entry"
        let object = try json.object(in: context)
        let status: HistoryStatus?
        switch object["status"] {
        case nil, .null?: status = nil
        case let value?: status = try HistoryStatus(json: value)
        }
        self.init(
            prompt: try QueueItem(json: try object.value("prompt", in: context)),
            outputs: try object.object("outputs", in: context),
            status: status,
            meta: try object["meta"] == nil ? [:] : object.object("meta", in: context)
        )
    }

    /// The entry in ComfyUI's key order: prompt, outputs, status, meta.
    public var json: JSONValue {
        ["prompt": prompt.json, "outputs": .object(outputs), "status": status?.json ?? .null, "meta": .object(meta)]
    }
}

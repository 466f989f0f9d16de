/// A JSON WebSocket frame a ComfyUI server sends to its clients (`{"type": …, "data": …}`).
public enum ServerMessage: Sendable, Hashable {
    /// Queue length; `sid` only in the first frame on a socket, naming the client id the server assigned.
    case status(queueRemaining: Int, sid: String?)
    /// The server's feature dict, sent in reply to the client's own `feature_flags`.
    case featureFlags(JSONObject)
    case executionStart(promptID: String, timestamp: Int64)
    /// Nodes whose outputs are reused from the cache and will not run.
    case executionCached(nodes: [String], promptID: String, timestamp: Int64)
    /// A node starts running; `node == nil` marks the end of the prompt; only `node` is set in the reconnect form.
    case executing(node: String?, displayNode: String?, promptID: String?)
    /// A step of a node's progress bar; a nil `promptID` or `node` is sent as null, as ComfyUI's hook does.
    case progress(value: JSONNumber, max: JSONNumber, promptID: String?, node: String?)
    /// Every node that is no longer pending, finished ones included, in the server's order.
    case progressState(promptID: String, nodes: [NodeProgress])
    /// A node's UI output (`{"images": [...]}` and the like), or null for a cached node without one.
    case executed(node: String, displayNode: String, output: JSONValue, promptID: String)
    case executionSuccess(promptID: String, timestamp: Int64)
    case executionError(ExecutionError)
    case executionInterrupted(ExecutionInterrupted)
    /// Server log lines for sockets subscribed through `/internal/logs/subscribe`.
    case logs(entries: JSONValue, size: JSONValue)
    /// A message this model does not know, such as one from a custom node, kept verbatim.
    case other(type: String, data: JSONValue)

    /// The wire name in the `type` field.
    public var type: String {
        switch self {
        case .status: "status"
        case .featureFlags: "feature_flags"
        case .executionStart: "execution_start"
        case .executionCached: "execution_cached"
        case .executing: "executing"
        case .progress: "progress"
        case .progressState: "progress_state"
        case .executed: "executed"
        case .executionSuccess: "execution_success"
        case .executionError: "execution_error"
        case .executionInterrupted: "execution_interrupted"
        case .logs: "logs"
        case .other(let type, _): type
        }
    }

    /// The prompt the message is about; nil for `status`, `feature_flags`, `logs` and a reconnect `executing`.
    public var promptID: String? {
        switch self {
        case .status, .featureFlags, .logs: nil
        case .executionStart(let promptID, _), .executionCached(_, let promptID, _),
            .progressState(let promptID, _), .executed(_, _, _, let promptID), .executionSuccess(let promptID, _):
            promptID
        case .executing(_, _, let promptID), .progress(_, _, let promptID, _): promptID
        case .executionError(let error): error.promptID
        case .executionInterrupted(let interrupted): interrupted.promptID
        case .other(_, let data): data["prompt_id"]?.stringValue
        }
    }
}

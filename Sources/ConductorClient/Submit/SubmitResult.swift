import ComfyWire

/// The server's answer to an accepted prompt.
public struct SubmitResult: Sendable, Hashable {
    public var promptID: String
    /// The queue priority the prompt got.
    public var number: JSONNumber
    /// Output nodes that failed validation and were left out; the rest runs (ComfyUI answers 200 then).
    public var nodeErrors: JSONObject
    /// The answer as sent, for `--json`.
    public var json: JSONValue
}

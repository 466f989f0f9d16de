/// Why one node was or was not chosen.
public struct Candidate: Sendable, Hashable, Codable {
    public var node: String
    public var eligible: Bool
    /// e.g. "down", "draining", "full (2/2)", "missing class AcceptanceWork", "no ckpt_name 'x.safetensors'",
    /// "not enough VRAM (needs 12.0 GiB of 8.0 GiB)", or for eligible ones
    /// "finish in 12.3 s (queue 4.0 + load 0.0 + run 8.3)".
    public var reason: String
    /// Predicted finish on this node for eligible nodes and for nodes that are only full; nil otherwise.
    public var predictedFinishSeconds: Double?
    /// Of that, the seconds the job itself would take there once started: its checkpoint's load if not resident plus
    /// its work at the node's learned speed. What the prediction error is measured on.
    public var predictedRunSeconds: Double?

    public init(
        node: String, eligible: Bool, reason: String, predictedFinishSeconds: Double? = nil,
        predictedRunSeconds: Double? = nil
    ) {
        self.node = node
        self.eligible = eligible
        self.reason = reason
        self.predictedFinishSeconds = predictedFinishSeconds
        self.predictedRunSeconds = predictedRunSeconds
    }
}

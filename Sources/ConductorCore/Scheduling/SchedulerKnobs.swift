/// Knobs of the scheduler, read from cluster.json; a missing key keeps its default.
public struct SchedulerKnobs: Sendable, Hashable, Codable {
    /// Prefer the node holding the checkpoint unless its predicted finish is later than the best other node's by
    /// more than this many seconds (default 0: pure predicted-finish comparison, where the load cost already
    /// counts). Negative values count as 0.
    public var affinitySlackSeconds: Double = 0
    /// Hold a job back for a full node when that node's predicted finish beats the best node with room by more than
    /// this many seconds (default nil: never hold back; a job goes to the best node with room).
    public var waitForFullNodeGainSeconds: Double? = nil

    public init() {}

    public init(affinitySlackSeconds: Double = 0, waitForFullNodeGainSeconds: Double? = nil) {
        self.affinitySlackSeconds = affinitySlackSeconds
        self.waitForFullNodeGainSeconds = waitForFullNodeGainSeconds
    }

    enum CodingKeys: String, CodingKey {
        case affinitySlackSeconds, waitForFullNodeGainSeconds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = SchedulerKnobs()
        affinitySlackSeconds =
            try container.decodeIfPresent(Double.self, forKey: .affinitySlackSeconds) ?? defaults.affinitySlackSeconds
        waitForFullNodeGainSeconds = try container.decodeIfPresent(Double.self, forKey: .waitForFullNodeGainSeconds)
    }
}

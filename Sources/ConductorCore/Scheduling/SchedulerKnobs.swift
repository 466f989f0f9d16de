/// Knobs of the scheduler, read from cluster.json; a missing key keeps its default.
///
/// Nodes are compared by a score in seconds:
/// `startDelayWeight × (queue + load) + run + evictionWeight × load` (the last term only when the load evicts a checkpoint
/// for one the node is not planned for; see `CheckpointPlan`).
/// With the defaults the score is the plain predicted finish (queue + load + run).
public struct SchedulerKnobs: Sendable, Hashable {
    /// Prefer the node holding the checkpoint unless its score is later than the best other node's by more than
    /// this many seconds (default 0: pure predicted-finish comparison, where the load cost already counts).
    /// Negative values count as 0.
    public var affinitySlackSeconds: Double = 0
    /// Weight of the seconds before a job starts on a node (the node's committed work plus any checkpoint load)
    /// against the seconds it runs there (default 1: plain predicted finish). Above 1 favours nodes that start the
    /// job sooner over faster busy ones, which keeps more of the fleet working, and makes loads dearer.
    /// Values below 1 count as 1.
    public var startDelayWeight: Double = 1
    /// Weight of the reload that evicting a node's checkpoint costs that checkpoint's later jobs: a node that would
    /// swap out its checkpoint for one `CheckpointPlan` did not give it scores worse by this × its load seconds.
    /// The same penalty is added once more when jobs later in the queue want the checkpoint the node holds and the job
    /// has holders of its own to wait for, so a freed node serves its own checkpoint's queue first, as in the P6
    /// reference. Default 0: neither.
    public var evictionWeight: Double = 0
    /// Hold a job back for a full node when that node's score beats the best node with room by more than this many
    /// seconds (default nil: never hold back; a job goes to the best node with room). 0 = hold back whenever the
    /// full node is better at all. Without it, a job whose checkpoint's holders are all full is pushed onto a
    /// node that must load it.
    public var waitForFullNodeGainSeconds: Double? = nil

    public init() {}

    public init(
        affinitySlackSeconds: Double = 0, startDelayWeight: Double = 1, evictionWeight: Double = 0,
        waitForFullNodeGainSeconds: Double? = nil
    ) {
        self.affinitySlackSeconds = affinitySlackSeconds
        self.startDelayWeight = startDelayWeight
        self.evictionWeight = evictionWeight
        self.waitForFullNodeGainSeconds = waitForFullNodeGainSeconds
    }

    /// Settings that beat the P6 reference policy at every swap cost (0, 0.5×, 2×, 5× the mean job) in a
    /// discrete-event simulation of the P6 fleet, with ≤ 0.03 loads per job at 2×.
    public static let recommended = SchedulerKnobs(
        startDelayWeight: 3, evictionWeight: 5, waitForFullNodeGainSeconds: 0)
}

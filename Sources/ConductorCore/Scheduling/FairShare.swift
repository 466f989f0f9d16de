/// Fair shares: the order in which waiting jobs are offered to the scheduler when several clients queue at once.
///
/// Start-time fair queueing. A job joining the queue is stamped with a virtual start: the later of the fleet's virtual
/// time (the stamp of the last job sent to a node) and the virtual finish of its client's previous job; its client's
/// virtual finish then moves on by the job's work divided by the client's weight (default 1; an API key's `weight`), so
/// a client of weight 2 gets twice the work of a client of weight 1 through while both queue. Jobs are offered in stamp order, queue order among
/// equal stamps. So one client's thousand jobs cannot hold back another client's one (that job is stamped level with
/// the flood's next job, not behind its last), a client with short jobs gets more of them through than a client with
/// long ones, and an idle client does not bank credit. A job sent with `front` (a negative number) keeps its place
/// ahead of everything, as on a ComfyUI node.
public struct FairShare: Sendable, Hashable {
    /// The stamp of the last job sent to a node.
    public private(set) var virtualTime = 0.0
    /// Each client's virtual finish; a client at or behind `virtualTime` is forgotten (it would start there anyway).
    private var finish: [String: Double] = [:]

    public init() {}

    /// Work a job counts for at least (sampling units), so jobs with no sampler (an upscale, a save) are not free.
    public static let minimumWork = 1.0

    /// Stamps a job joining the queue for `client` (the API key's name when keys are on, else its `client_id`).
    /// A weight that is not > 0 counts as 1.
    public mutating func stamp(client: String, work: Double, weight: Double = 1) -> Double {
        let start = max(virtualTime, finish[client] ?? 0)
        let share = weight > 0 && weight.isFinite ? weight : 1
        finish[client] = start + max(work, Self.minimumWork) / share
        return start
    }

    /// A job left the queue for a node: the fleet's virtual time reaches its stamp. A `front` job jumped the shares, so
    /// it moves nothing: otherwise its stamp (behind all its client's queued work) would push every newcomer behind
    /// that whole queue.
    public mutating func dispatched(stamp: Double, front: Bool = false) {
        guard !front, stamp > virtualTime else { return }
        virtualTime = stamp
        if finish.count > 1024 { finish = finish.filter { $0.value > virtualTime } }
    }

    /// The indices of waiting jobs, given in queue order, in the order to offer them: front, then stamp, then queue order.
    public static func order(_ jobs: [(front: Bool, stamp: Double)]) -> [Int] {
        jobs.indices.sorted { a, b in (jobs[a].front ? 0 : 1, jobs[a].stamp, a) < (jobs[b].front ? 0 : 1, jobs[b].stamp, b) }
    }
}

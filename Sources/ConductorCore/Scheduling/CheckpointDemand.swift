/// The work the fleet has been asked for per checkpoint over a sliding window: what `CheckpointPlan` divides the
/// fleet by.
///
/// Each job joining the queue is recorded once, with its checkpoint and predicted work (in speed-1 seconds). Jobs
/// older than `windowSeconds` are forgotten. Times are seconds on any clock that only moves forward.
public struct CheckpointDemand: Sendable, Hashable {
    /// The demand for one checkpoint.
    public struct Rate: Sendable, Hashable {
        /// Jobs per second over the window.
        public var jobsPerSecond: Double
        /// Mean work of those jobs (seconds on a speed-1 node).
        public var meanWork: Double
        /// Squared coefficient of variation of their work (0 = all alike, 1 = as varied as exponential).
        public var workVariability: Double

        public init(jobsPerSecond: Double, meanWork: Double, workVariability: Double = 1) {
            self.jobsPerSecond = jobsPerSecond
            self.meanWork = meanWork
            self.workVariability = workVariability
        }
    }

    public let windowSeconds: Double
    private struct Arrival: Sendable, Hashable {
        var time: Double
        var checkpoint: String
        var work: Double
    }

    private var arrivals: [Arrival] = []
    private var head = 0
    /// Per checkpoint, over the arrivals from `head` on: kept as they come and go, so reading the rates does not walk
    /// the window (at 1,000 submits a second it holds 600,000 jobs).
    private var sums: [String: Sum] = [:]

    private struct Sum: Sendable, Hashable {
        var count = 0
        var work = 0.0
        var squares = 0.0
    }
    private var started: Double?

    /// A window of `windowSeconds` (default 600 s: long enough to see a rare checkpoint's jobs, short enough to
    /// follow a shift of demand within minutes).
    public init(windowSeconds: Double = 600) {
        self.windowSeconds = windowSeconds > 0 ? windowSeconds : 600
    }

    /// A job joined the queue at `time`. Jobs without a checkpoint are not recorded: they leave no model to keep.
    public mutating func record(checkpoint: String?, work: Double, at time: Double) {
        if started == nil { started = time }
        guard let checkpoint else { return }
        let work = work.isFinite && work > 0 ? work : 0
        arrivals.append(Arrival(time: time, checkpoint: checkpoint, work: work))
        sums[checkpoint, default: Sum()].count += 1
        sums[checkpoint]!.work += work
        sums[checkpoint]!.squares += work * work
    }

    /// The demand per checkpoint over the window ending at `time` (over the time since the first record, while that
    /// is shorter than the window).
    public mutating func rates(at time: Double) -> [String: Rate] {
        while head < arrivals.count, arrivals[head].time < time - windowSeconds {
            let gone = arrivals[head]
            head += 1
            guard var sum = sums[gone.checkpoint] else { continue }
            sum.count -= 1
            sum.work -= gone.work
            sum.squares -= gone.work * gone.work
            sums[gone.checkpoint] = sum.count > 0 ? sum : nil  // gone entirely: no rounding left behind
        }
        if head > 4096, head * 2 > arrivals.count {
            arrivals.removeFirst(head)
            head = 0
        }
        guard let started, head < arrivals.count else { return [:] }
        let span = max(1, min(windowSeconds, time - started))
        return sums.mapValues { sum in
            let count = Double(sum.count)
            let mean = max(0, sum.work) / count
            let variance = max(0, sum.squares / count - mean * mean)
            return Rate(
                jobsPerSecond: count / span, meanWork: mean,
                workVariability: mean > 0 ? variance / (mean * mean) : 1)
        }
    }
}

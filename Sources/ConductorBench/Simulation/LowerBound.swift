/// P6's lower bound on the mean completion time of a trace on a fleet.
///
/// The larger of (a) the mean completion time under SRPT on one machine as fast as the whole fleet (Σ speeds),
/// which no placement can beat, and (b) the mean of work ÷ speed when every job runs on the fastest nodes
/// available, with no waiting and no swaps. "Available" is read as having capacity left: the trace's work is spread
/// over the nodes fastest first, each doing at most its speed × the trace's span (no fleet runs more than that while
/// the jobs arrive; work beyond it counts at the fastest speed). That is a floor on any schedule's mean run time, so
/// on any policy's mean completion. On P6 this reading reproduces the reference ratios bench-scenarios.md states
/// (see BENCHMARKS.md); the older reading, every job on a fastest node whatever the load, is kept as
/// `everyJobOnFastestNode`.
public struct LowerBound: Sendable, Hashable {
    /// (a): SRPT on one machine of speed Σs.
    public var srptOnPooledMachine: Double
    /// (b): mean of work ÷ speed, the work on the fastest nodes with capacity left, no waiting, no swaps.
    public var fastestNodesAvailable: Double
    /// Not part of the bound: mean of work ÷ the fastest speed, as if the fastest node had unlimited capacity (the
    /// reading of (b) used until session 5; never above `fastestNodesAvailable`).
    public var everyJobOnFastestNode: Double

    public var value: Double { max(srptOnPooledMachine, fastestNodesAvailable) }

    public init(trace: Trace, speeds: [Double]) {
        let jobs = trace.jobs
        let count = Double(max(1, jobs.count))
        let fastest = speeds.filter { $0 > 0 }.max() ?? 1
        let totalWork = jobs.reduce(0) { $0 + $1.work }
        everyJobOnFastestNode = totalWork / fastest / count
        srptOnPooledMachine = Self.srpt(jobs, speed: speeds.reduce(0, +))
        var left = totalWork
        var runTime = 0.0
        let span = jobs.last?.arrival ?? 0
        for speed in speeds.sorted(by: >) where speed > 0 && left > 0 {
            let share = min(left, speed * span)
            runTime += share / speed
            left -= share
        }
        runTime += left / fastest  // past the span
        fastestNodesAvailable = runTime / count
    }

    /// Mean response time of preemptive shortest-remaining-processing-time on one machine.
    static func srpt(_ jobs: [TraceJob], speed: Double) -> Double {
        guard !jobs.isEmpty, speed > 0 else { return 0 }
        var pending = MinHeap<Pending>()
        var time = 0.0
        var total = 0.0
        func drain(until limit: Double) {
            while let top = pending.min, time + top.remaining <= limit {
                pending.removeMin()
                time += top.remaining
                total += time - top.arrival
            }
            if limit.isFinite, pending.min != nil {
                pending.updateMin { $0.remaining -= limit - time }  // stays the smallest: it only shrinks
                time = limit
            }
        }
        for job in jobs {
            drain(until: job.arrival)
            time = max(time, job.arrival)
            pending.insert(Pending(remaining: job.work / speed, arrival: job.arrival))
        }
        drain(until: .infinity)
        return total / Double(jobs.count)
    }

    struct Pending: Comparable {
        var remaining: Double
        var arrival: Double

        static func < (a: Pending, b: Pending) -> Bool {
            a.remaining != b.remaining ? a.remaining < b.remaining : a.arrival < b.arrival
        }
    }
}

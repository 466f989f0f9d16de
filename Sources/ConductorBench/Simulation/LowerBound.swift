/// P6's lower bound on the mean completion time of a trace on a fleet.
///
/// The larger of (a) the mean completion time under SRPT on one machine as fast as the whole fleet (Σ speeds),
/// which no placement can beat, and (b) the mean of work / fastest speed: every job on a fastest node, with no
/// waiting and no swaps.
public struct LowerBound: Sendable, Hashable {
    /// (a): SRPT on one machine of speed Σs.
    public var srptOnPooledMachine: Double
    /// (b): mean of work / max speed.
    public var fastestNodeNoWait: Double
    /// Not part of P6's bound, a tighter floor on the mean run time alone: the trace's work spread over the nodes
    /// fastest first, each busy at most its speed × the trace's span (a fleet cannot run more than that in the time the
    /// jobs arrive; work beyond that counts at the fastest speed), then Σ work ÷ speed per job. It assumes the nodes busy
    /// all the time with no waiting, so no policy reaches it either.
    public var capacityRunFloor: Double

    public var value: Double { max(srptOnPooledMachine, fastestNodeNoWait) }

    public init(trace: Trace, speeds: [Double]) {
        let jobs = trace.jobs
        let fastest = speeds.max() ?? 1
        fastestNodeNoWait = jobs.isEmpty ? 0 : jobs.reduce(0) { $0 + $1.work / fastest } / Double(jobs.count)
        srptOnPooledMachine = Self.srpt(jobs, speed: speeds.reduce(0, +))
        var left = jobs.reduce(0) { $0 + $1.work }
        var runTime = 0.0
        let span = jobs.last?.arrival ?? 0
        for speed in speeds.sorted(by: >) where speed > 0 && left > 0 {
            let share = min(left, speed * span)
            runTime += share / speed
            left -= share
        }
        if left > 0, let fastest = speeds.max(), fastest > 0 { runTime += left / fastest }  // past the span: a floor
        capacityRunFloor = jobs.isEmpty ? 0 : runTime / Double(jobs.count)
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

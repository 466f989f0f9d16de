/// A replayable sequence of jobs, sorted by arrival.
public struct Trace: Sendable, Hashable {
    public private(set) var jobs: [TraceJob]

    /// Sorts the jobs by arrival (stable, so equal arrivals keep their order).
    public init(jobs: [TraceJob]) {
        self.jobs = jobs.enumerated().sorted { a, b in
            a.element.arrival != b.element.arrival ? a.element.arrival < b.element.arrival : a.offset < b.offset
        }.map(\.element)
    }

    /// Mean work per job (0 for an empty trace).
    public var meanWork: Double {
        jobs.isEmpty ? 0 : jobs.reduce(0) { $0 + $1.work } / Double(jobs.count)
    }

    /// Checkpoints by number of jobs, most popular first (ties by name).
    public var checkpointsByPopularity: [String] {
        var counts: [String: Int] = [:]
        for job in jobs { if let checkpoint = job.checkpoint { counts[checkpoint, default: 0] += 1 } }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
    }
}

/// What one simulated run measured, per job and in summary.
public struct SimulationResult: Sendable {
    /// Per job (trace order): times it completed (1 when the run conserved it), start and finish times.
    public var completions: [Int]
    public var start: [Double]
    public var finish: [Double]
    /// Per job: the node it ran on, and when it was sent there.
    public var node: [Int]
    public var sent: [Double]
    /// Checkpoint loads that replaced a resident checkpoint.
    public var swaps: Int
    /// Jobs sent to a node while a faster idle node already holding their checkpoint existed.
    public var slowerNodeChoices: Int
    /// Completion (finish − arrival) statistics over the measured jobs.
    public var completion: Summary
    /// Per checkpoint: p99 of the wait before the job started (load included in the run, not the wait).
    public var p99WaitByCheckpoint: [String: Double]
    public var jobs: Int

    public var swapsPerJob: Double { jobs > 0 ? Double(swaps) / Double(jobs) : 0 }
}

/// Mean, median and p99 of a sample.
public struct Summary: Sendable, Hashable {
    public var mean: Double
    public var median: Double
    public var p99: Double

    public init(mean: Double, median: Double, p99: Double) {
        self.mean = mean
        self.median = median
        self.p99 = p99
    }

    /// Nearest-rank quantiles; all zero for an empty sample.
    public init(_ values: [Double]) {
        guard !values.isEmpty else {
            self.init(mean: 0, median: 0, p99: 0)
            return
        }
        let sorted = values.sorted()
        self.init(
            mean: values.reduce(0, +) / Double(values.count), median: Self.quantile(sorted, 0.5),
            p99: Self.quantile(sorted, 0.99))
    }

    /// Nearest-rank quantile of an ascending sample.
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(sorted.count - 1, max(0, rank))]
    }

    /// The element-wise mean of several summaries (for averaging seeds).
    public static func average(_ summaries: [Summary]) -> Summary {
        let n = Double(max(1, summaries.count))
        return Summary(
            mean: summaries.reduce(0) { $0 + $1.mean } / n, median: summaries.reduce(0) { $0 + $1.median } / n,
            p99: summaries.reduce(0) { $0 + $1.p99 } / n)
    }
}

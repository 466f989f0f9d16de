import ConductorCore

/// P6: scheduling quality on a heterogeneous fleet with checkpoint swaps, against the lower bound.
public struct P6Quality: Sendable {
    /// Swap costs as multiples of the mean job (mean work at speed 1).
    public var swapFactors: [Double] = [0, 0.5, 2, 5]
    public var jobs = 4_000
    public var seeds = 3
    /// A trace to replay instead of the generated ones (then `seeds` only seeds the policies' randomness).
    public var trace: Trace?
    /// The traces' generator and the fleet (its swap cost is set per swap factor): P6's unless a robustness case
    /// changes them.
    public var generator = P6Quality.generator
    public var fleet = SimulatedFleet.p6(swapSeconds: 0)
    /// Nodes that join or leave: `from` and `until` are shares of each trace's span (0.5 = halfway).
    public var outageShares: [SimulatedFleet.Outage] = []
    public var policies: [DispatchPolicy]
    /// Conductor's knobs, whose row the goals are checked on (`conductor bench p6 --knobs JSON` to try others).
    public var knobs: SchedulerKnobs
    /// Conductor starts with its nodes' speeds unmeasured (`FleetSimulation.coldStart`).
    public var coldStart = false

    /// The reference policy's ratios to the bound given in bench-scenarios.md, at swap = 0, 0.5, 2, 5 × mean job.
    public static let statedReference: [Double: Double] = [0: 1.30, 0.5: 1.64, 2: 1.98, 5: 2.19]

    public init(jobs: Int = 4_000, seeds: Int = 3, trace: Trace? = nil, knobs: SchedulerKnobs = .recommended) {
        self.knobs = knobs
        policies = [
            .roundRobin, .shortestQueue, .random, .powerOfTwo, .reference, .conductorAffinityOff(knobs), .conductor(knobs)
        ]
        self.jobs = jobs
        self.seeds = seeds
        self.trace = trace
    }

    /// Poisson arrivals at 70 % of the fleet's capacity, work uniform in [2, 6], 3 checkpoints with Zipf(1) popularity.
    public static let generator = TraceGenerator(
        arrivalRate: 0.7 * SimulatedFleet.p6(swapSeconds: 0).totalSpeed / 4, work: .uniform(low: 2, high: 6),
        checkpoints: 3, clients: 8)

    /// One policy at one swap cost, averaged over seeds.
    public struct Cell: Sendable {
        public var policy: String
        public var swapFactor: Double
        public var completion: Summary
        /// Mean over seeds of (mean completion / that trace's bound).
        public var ratioToBound: Double
        public var swapsPerJob: Double
        /// Per checkpoint (most popular first): p99 wait, averaged over seeds.
        public var p99Wait: [(checkpoint: String, seconds: Double)]
        public var slowerNodeChoices: Int
    }

    public struct Outcome: Sendable {
        public var cells: [Cell]
        public var bounds: [Double]
        /// Per trace: `LowerBound.everyJobOnFastestNode`, the looser reading of the bound used until session 5.
        public var fastestNodeBounds: [Double] = []
        public var meanJob: Double

        public func cell(_ policy: DispatchPolicy, _ factor: Double) -> Cell? {
            cells.first { $0.policy == policy.name && $0.swapFactor == factor }
        }
    }

    public func traces() -> [Trace] {
        if let trace { return [trace] }
        return (1...UInt64(max(1, seeds))).map { generator.trace(jobs: jobs, seed: $0) }
    }

    public func simulate() -> Outcome {
        let traces = traces()
        let meanJob = trace?.meanWork ?? generator.work.mean
        let speeds = fleet.speeds
        let lowerBounds = traces.map { LowerBound(trace: $0, speeds: speeds) }
        let bounds = lowerBounds.map(\.value)
        let popularity = traces[0].checkpointsByPopularity
        var cells: [Cell] = []
        for factor in swapFactors {
            var fleet = fleet
            fleet.swapSeconds = factor * meanJob
            for policy in policies {
                var summaries: [Summary] = []
                var ratios: [Double] = []
                var swaps = 0.0
                var waits = Array(repeating: 0.0, count: popularity.count)
                var slower = 0
                for (index, trace) in traces.enumerated() {
                    let span = trace.jobs.last?.arrival ?? 0
                    fleet.outages = outageShares.map { .init(node: $0.node, from: $0.from * span, until: $0.until * span) }
                    var simulation = FleetSimulation(fleet: fleet, policy: policy, seed: UInt64(index + 1))
                    simulation.coldStart = coldStart
                    let result = simulation.run(trace)
                    summaries.append(result.completion)
                    ratios.append(result.completion.mean / bounds[index])
                    swaps += result.swapsPerJob
                    for (rank, checkpoint) in popularity.enumerated() { waits[rank] += result.p99WaitByCheckpoint[checkpoint] ?? 0 }
                    slower += result.slowerNodeChoices
                }
                let n = Double(traces.count)
                cells.append(
                    Cell(
                        policy: policy.name, swapFactor: factor, completion: .average(summaries),
                        ratioToBound: ratios.reduce(0, +) / n, swapsPerJob: swaps / n,
                        p99Wait: zip(popularity, waits).map { ($0, $1 / n) }, slowerNodeChoices: slower))
            }
        }
        return Outcome(cells: cells, bounds: bounds, fastestNodeBounds: lowerBounds.map(\.everyJobOnFastestNode), meanJob: meanJob)
    }

    public func run() -> BenchReport {
        let outcome = simulate()
        var report = BenchReport(scenario: "p6", title: "Scheduling quality against the lower bound")
        let boundMean = outcome.bounds.reduce(0, +) / Double(max(1, outcome.bounds.count))
        let source = trace == nil ? "\(seeds) seeds × \(jobs) jobs" : "replayed trace (\(trace!.jobs.count) jobs)"
        for factor in swapFactors {
            var table = Table(
                "Swap = \(fixed(factor, 1))× mean job (\(fixed(factor * outcome.meanJob, 1)) s); \(source); "
                    + "lower bound \(fixed(boundMean, 3)) s. Completion time, seconds:",
                headers: ["policy", "mean", "÷ bound", "median", "p99", "swaps/job"])
            for policy in policies {
                guard let cell = outcome.cell(policy, factor) else { continue }
                table.rows.append([
                    .text(cell.policy), .number(cell.completion.mean, digits: 2), .ratio(cell.ratioToBound),
                    .number(cell.completion.median, digits: 2), .number(cell.completion.p99, digits: 1),
                    .number(cell.swapsPerJob, digits: 3)
                ])
            }
            if let stated = Self.statedReference[factor] {
                table.rows.append([.text("P6 reference as stated"), .text("–"), .ratio(stated), .text("–"), .text("–"), .text("–")])
            }
            table.rows.append([.text("lower bound"), .number(boundMean, digits: 2), .ratio(1), .text("–"), .text("–"), .number(0, digits: 3)])
            let loose = outcome.fastestNodeBounds
            table.rows.append([
                .text("every job on a fastest node, no waiting (the looser reading of the bound used until session 5)"),
                .number(loose.reduce(0, +) / Double(max(1, loose.count)), digits: 2),
                .ratio(zip(loose, outcome.bounds).reduce(0) { $0 + $1.0 / $1.1 } / Double(max(1, outcome.bounds.count))),
                .text("–"), .text("–"), .text("–")
            ])
            report.tables.append(table)
        }
        let conductor = DispatchPolicy.conductor(knobs)
        if let free = outcome.cell(conductor, 0) {
            report.check("Conductor ≤ 1.35× bound, free swaps", free.ratioToBound <= 1.35, "\(fixed(free.ratioToBound, 2))×")
        }
        if let two = outcome.cell(conductor, 2) {
            report.check("Conductor ≤ 2.0× bound, swap = 2× mean job", two.ratioToBound <= 2, "\(fixed(two.ratioToBound, 2))×")
            report.check("≤ 0.1 swaps per job at 2×", two.swapsPerJob <= 0.1, fixed(two.swapsPerJob, 3))
        }
        for factor in swapFactors {
            guard let ours = outcome.cell(conductor, factor), let reference = outcome.cell(.reference, factor) else { continue }
            report.check(
                "better than the reference (same traces) at swap = \(fixed(factor, 1))×",
                ours.ratioToBound < reference.ratioToBound,
                "\(fixed(ours.ratioToBound, 2))× vs \(fixed(reference.ratioToBound, 2))×")
            if let stated = Self.statedReference[factor] {
                report.check(
                    "better than the reference's stated \(fixed(stated, 2))× at swap = \(fixed(factor, 1))×",
                    ours.ratioToBound < stated, "\(fixed(ours.ratioToBound, 2))×")
            }
        }
        return report
    }
}

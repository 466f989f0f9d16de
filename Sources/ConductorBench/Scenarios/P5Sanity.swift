import ConductorCore

/// P5: the simulator against queueing theory — 32 identical nodes, exp(1) service, Poisson arrivals at 90 % load.
///
/// Random routing makes each node an M/M/1 queue at ρ = 0.9 (mean time in system 1 / (1 − ρ) = 10.0);
/// power-of-two-choices gives 2.61 (Mitzenmacher's fixed point); join-shortest-queue is no worse.
public struct P5Sanity: Sendable {
    public var nodes = 32
    public var load = 0.9
    public var jobs = 400_000
    public var seeds = 3
    /// Share of each run's earliest jobs left out (the fleet starts empty).
    public var warmupFraction = 0.1
    public var tolerance = 0.05
    /// Also run Conductor's scheduler (fleet queue, 2 prompts per node) for comparison; the slowest row.
    public var includeConductor = true

    public static let knownRandom = 10.0
    public static let knownPowerOfTwo = 2.61

    public init(jobs: Int = 400_000, seeds: Int = 3) {
        self.jobs = jobs
        self.seeds = seeds
    }

    public struct Outcome: Sendable {
        public var meanTimeInSystem: [String: Double]
        public var report: BenchReport

        public var reproducesKnownResults: Bool { report.allMet }
    }

    public var generator: TraceGenerator {
        TraceGenerator(arrivalRate: load * Double(nodes), work: .exponential(mean: 1))
    }

    public func run() -> Outcome {
        let fleet = SimulatedFleet(speeds: Array(repeating: 1, count: nodes))
        let policies: [(DispatchPolicy, Double?)] =
            [(.random, Self.knownRandom), (.powerOfTwo, Self.knownPowerOfTwo), (.shortestQueue, nil)]
            + (includeConductor ? [(.conductor(.recommended), nil)] : [])
        var summaries = Array(repeating: [Summary](), count: policies.count)
        for seed in 1...UInt64(max(1, seeds)) {
            let trace = generator.trace(jobs: jobs, seed: seed)
            for (index, (policy, _)) in policies.enumerated() {
                let simulation = FleetSimulation(fleet: fleet, policy: policy, seed: seed, warmupFraction: warmupFraction)
                summaries[index].append(simulation.run(trace).completion)
            }
        }
        var report = BenchReport(scenario: "p5", title: "Simulator sanity (\(nodes) nodes, exp(1) service, \(Int(load * 100)) % load)")
        var table = Table(
            "\(seeds) seeds × \(jobs) jobs, first \(Int(warmupFraction * 100)) % of each run not counted. Time in system, seconds:",
            headers: ["policy", "mean", "median", "p99", "known mean", "deviation"])
        var means: [String: Double] = [:]
        for (index, (policy, known)) in policies.enumerated() {
            let summary = Summary.average(summaries[index])
            means[policy.name] = summary.mean
            table.rows.append([
                .text(policy.name + (policy.name == "Conductor" ? " (fleet queue, 2 per node)" : "")),
                .number(summary.mean, digits: 3), .number(summary.median, digits: 3), .number(summary.p99, digits: 2),
                known.map { .number($0, digits: 2) } ?? .text("–"),
                known.map { .text(signedPercent(summary.mean / $0 - 1)) } ?? .text("–")
            ])
            if let known {
                let deviation = summary.mean / known - 1
                report.check(
                    "\(policy.name) mean = \(fixed(known, 2)) ± \(Int(tolerance * 100)) %", abs(deviation) <= tolerance,
                    "\(fixed(summary.mean, 3)) (\(signedPercent(deviation)))")
            }
        }
        let jsq = means[DispatchPolicy.shortestQueue.name] ?? .infinity
        let p2c = means[DispatchPolicy.powerOfTwo.name] ?? 0
        report.check("shortest queue no worse than power-of-two", jsq <= p2c, "\(fixed(jsq, 3)) vs \(fixed(p2c, 3))")
        report.tables.append(table)
        return Outcome(meanTimeInSystem: means, report: report)
    }
}

public func signedPercent(_ fraction: Double) -> String {
    (fraction >= 0 ? "+" : "−") + fixed(abs(fraction) * 100, 1) + " %"
}

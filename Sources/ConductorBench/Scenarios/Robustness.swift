import ConductorCore

/// #9's robustness check: the `.recommended` knobs, tuned on P6, on traces they were not tuned on — other node
/// speeds, 2 to 10 checkpoints, LoRAs on top (a cost the scheduler is not told about), bursts, and a node leaving or
/// joining mid-trace. Each case runs at swap = 0.5× and 2× the mean job against the P6 reference and shortest queue.
public struct Robustness: Sendable {
    public struct Case: Sendable {
        public var name: String
        public var quality: P6Quality
    }

    public var jobs: Int
    public var seeds: Int
    public var swapFactors: [Double] = [0.5, 2]
    /// Conductor's knobs (`conductor bench robust --knobs JSON` to try others).
    public var knobs = SchedulerKnobs.recommended
    /// Prompts a node may hold at once (cluster.json's `maxOutstanding`).
    public var maxOutstanding = 2
    /// Conductor starts with its nodes' speeds unmeasured (`FleetSimulation.coldStart`).
    public var coldStart = false

    public init(jobs: Int = 4_000, seeds: Int = 3) {
        self.jobs = jobs
        self.seeds = seeds
    }

    /// P6's trace model (work uniform [2, 6], Zipf(1) checkpoints, 8 clients) at 70 % of the fleet's capacity.
    static func generator(speeds: [Double], checkpoints: Int = 3) -> TraceGenerator {
        TraceGenerator(
            arrivalRate: 0.7 * speeds.reduce(0, +) / 4, work: .uniform(low: 2, high: 6), checkpoints: checkpoints,
            clients: 8)
    }

    public var cases: [Case] {
        let p6 = SimulatedFleet.p6(swapSeconds: 0).speeds
        func make(
            _ name: String, speeds: [Double] = p6, checkpoints: Int = 3, change: (inout P6Quality) -> Void = { _ in }
        ) -> Case {
            var quality = P6Quality(jobs: jobs, seeds: seeds)
            quality.swapFactors = swapFactors
            quality.policies = [.conductor(knobs), .reference, .shortestQueue]
            quality.fleet = SimulatedFleet(speeds: speeds, maxOutstanding: maxOutstanding)
            quality.generator = Self.generator(speeds: speeds, checkpoints: checkpoints)
            quality.coldStart = coldStart
            change(&quality)
            return Case(name: name, quality: quality)
        }
        return [
            make("P6 as tuned (speeds 1, 1, 0.7, 0.7, 0.5, 0.5, 0.35, 0.35; 3 checkpoints)"),
            make("one fast node: speeds 2, 0.6 ×3, 0.5 ×4", speeds: [2, 0.6, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5]),
            make("8 equal nodes of speed 0.64", speeds: Array(repeating: 0.6375, count: 8)),
            make("16 nodes (P6's speeds twice), 5 checkpoints", speeds: p6 + p6, checkpoints: 5),
            make("2 checkpoints", checkpoints: 2),
            make("5 checkpoints", checkpoints: 5),
            make("10 checkpoints", checkpoints: 10),
            make("4 LoRAs on half the jobs, 1 s to switch") { quality in
                quality.generator.loras = 4
                quality.fleet.loraSeconds = 1
            },
            make("bursts: 4× the rate for 60 s of every 600 s") { quality in
                quality.generator.burst = .init(period: 600, seconds: 60, factor: 4)
            },
            make("a speed-1 node leaves at a third of the trace") { quality in
                quality.outageShares = [.init(node: 0, from: 1.0 / 3)]
            },
            make("a speed-1 node joins at a third of the trace") { quality in
                quality.outageShares = [.init(node: 0, from: 0, until: 1.0 / 3)]
            }
        ]
    }

    public func run() -> BenchReport {
        var report = BenchReport(scenario: "robust", title: "Robustness: the P6-tuned knobs on traces they were not tuned on")
        var table = Table(
            "\(seeds) seeds × \(jobs) jobs per case, 70 % load; mean completion ÷ lower bound (Conductor's swaps per job; "
                + "its p99 wait, rarest checkpoint ÷ most popular):",
            headers: ["case", "swap × mean job", "Conductor", "P6 reference", "shortest queue", "swaps/job", "rarest ÷ popular"])
        let conductor = DispatchPolicy.conductor(knobs)
        for item in cases {
            let outcome = item.quality.simulate()
            for factor in swapFactors {
                guard let ours = outcome.cell(conductor, factor), let reference = outcome.cell(.reference, factor),
                    let queue = outcome.cell(.shortestQueue, factor)
                else { continue }
                let popular = ours.p99Wait.first?.seconds ?? 0
                let rare = ours.p99Wait.last?.seconds ?? 0
                // A policy that leaves jobs unstarted for good (the reference never loads a rare checkpoint whose
                // queued work is below the load time) has no mean.
                func ratio(_ cell: P6Quality.Cell) -> Table.Cell {
                    cell.ratioToBound.isFinite ? .ratio(cell.ratioToBound) : .text("jobs never start")
                }
                table.rows.append([
                    .text(item.name), .number(factor, digits: 1), ratio(ours), ratio(reference), ratio(queue),
                    .number(ours.swapsPerJob, digits: 3), popular > 0 ? .ratio(rare / popular) : .text("–")
                ])
                let better = ours.ratioToBound.isFinite && !(ours.ratioToBound >= reference.ratioToBound)
                report.check(
                    "\(item.name), swap \(fixed(factor, 1))×: better than the reference", better,
                    "\(fixed(ours.ratioToBound, 2))× vs "
                        + (reference.ratioToBound.isFinite ? "\(fixed(reference.ratioToBound, 2))×" : "jobs never start"))
            }
        }
        report.tables.append(table)
        return report
    }
}

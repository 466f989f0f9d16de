import ArgumentParser
import ComfyWire
import ConductorBench
import ConductorCore
import ConductorLiveBench
import Foundation

/// `conductor bench`: runs one benchmark scenario with its baseline in the same run and prints the figures.
///
/// A benchmark is a program, not a test: it reports whether each goal was met but exits 0 either way
/// (only a P5 sanity failure stops P6/P7, whose figures would then mean nothing).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark scenario (p1–p8 of bench-scenarios.md) and print its table.",
        discussion: """
            p1  proxy overhead: direct to a simulated node vs through Conductor vs nginx (when installed), at a
                constant rate from the intended send time, then saturation with Conductor on one core
            p2  64 concurrent 25 MB /view downloads, direct vs through Conductor vs nginx; Conductor's RSS
            p3  WebSocket fan-out: 1,000 clients with a job each and 10 watchers, 8 nodes sending progress and
                50 KB previews; node send → client receive, direct vs through Conductor, and with a client that
                stops reading
            p4  durable submits per second, and /history with a million rows (seeded), restart time
            e2e a 60-job trace simulated (virtual clock) and run for real (4 simulated nodes, scaled time):
                does the simulation predict the real mean completion within 10 %?
            P1–P4 start their own `serve` (and P1, P2, P4 `sim-node`) processes (build with -c release).
            p5  simulator sanity: random / power-of-two / shortest queue vs queueing theory
            p6  scheduling quality on the P6 fleet vs the lower bound, at swap = 0, 0.5, 2, 5 × mean job
            p7  checkpoint affinity on vs off
            p8  decision cost with 64 nodes and 10,000 queued jobs (build with -c release)
            robust  the P6-tuned scheduler on traces it was not tuned on: other speeds, 2–10 checkpoints, LoRAs,
                bursts, a node leaving or joining; against the P6 reference and shortest queue
            P5–P7 and robust run on a virtual clock and drive the real scheduler; P6/P7 and robust first check P5.
            """
    )

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        case p1, p2, p3, p4, p5, p6, p7, p8, robust, e2e
    }

    @Argument(help: "Scenario: p1, p2, p3, p4, p5, p6, p7, p8, robust or e2e.")
    var scenario: Scenario

    @Option(help: "Seeds (traces) per figure; default 3.")
    var seeds = 3

    @Option(help: "Jobs per trace; default 400000 for p5, 4000 for p6/p7/robust.")
    var jobs: Int?

    @Option(help: "Replay this JSON-lines trace (p6/p7) instead of generated ones; see BENCHMARKS.md.")
    var trace: String?

    @Option(help: "Write the first generated trace of the scenario to this file (JSON lines) and exit.")
    var writeTrace: String?

    @Option(
        help:
            "p6/robust: scheduler knobs as in cluster.json's \"scheduler\" object, e.g. '{\"evictionWeight\": 2}' (the other knobs stay recommended)."
    )
    var knobs: String?

    @Option(help: "p6/p7/robust/e2e: prompts a node may hold at once (cluster.json's maxOutstanding).")
    var maxOutstanding = 2

    @Option(
        help:
            "e2e: declare the nodes' speeds wrong by this factor in cluster.json (odd nodes too fast, even ones too slow), so Conductor has to learn them; default 1."
    )
    var declaredSpeedFactor = 1.0

    @Option(
        help:
            "e2e: how many times slower per step each of the 3 checkpoints is on the nodes, comma-separated (default 1,1,1); Conductor is not told, and learns it per workflow shape."
    )
    var stepCosts: String?

    @Option(help: "p6/robust: swap costs as multiples of the mean job, comma-separated (default 0,0.5,2,5 for p6, 0.5,2 for robust).")
    var swaps: String?

    @Option(help: "Jobs per seed of the P5 check run before p6/p7 (0 skips it).")
    var sanityJobs = 200_000

    @Option(help: "p8: single decisions sampled (rounds are a tenth of a percent of it, at least 30).")
    var samples = 20_000

    @Option(help: "p1: requests per second of the constant-rate rounds.")
    var rate = 1000.0

    @Option(help: "p1: seconds per constant-rate round.")
    var seconds = 2.0

    @Option(help: "p1: alternated rounds per request and target; p3: alternated pairs of Conductor runs.")
    var rounds = 3

    @Option(help: "e2e: real seconds per simulated second on the nodes.")
    var timeScale = 0.1

    @Option(help: "p3: clients, each with one job.")
    var clients = 1000

    @Option(help: "p3: jobs of the client that stops reading (its traffic must outgrow the socket buffers and the cap).")
    var stalledJobs = 250

    @Option(help: "p4: history rows to seed.")
    var historyRows = 1_000_000

    @Option(help: "p4: also measure a PostgreSQL store, one and two coordinators, at this URL (its tables are dropped first).")
    var postgres: String?

    @Option(help: "p1/p2/p4: scratch directory for the node's and Conductor's files (deleted first).")
    var workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("conductor-bench").path

    @Flag(
        help:
            "p6/p7/robust: Conductor starts with its nodes' speeds unmeasured, as a coordinator that just started (default: measured, as after a warm-up)."
    )
    var coldStart = false

    @Flag(help: "Print JSON instead of Markdown tables.")
    var json = false

    func run() async throws {
        if scenario == .p3 {
            var fanOut = FanOutBench(
                executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
                directory: URL(fileURLWithPath: workDirectory))
            fanOut.clients = clients
            fanOut.stalledJobs = stalledJobs
            fanOut.rounds = rounds
            emit([try await fanOut.run()])
            try? FileManager.default.removeItem(atPath: workDirectory)
            return
        }
        if [.p1, .p2, .p4, .e2e].contains(scenario) {
            var live = LiveBench(
                executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
                directory: URL(fileURLWithPath: workDirectory))
            live.rate = rate
            live.seconds = seconds
            live.rounds = rounds
            live.historyRows = historyRows
            live.postgresURL = postgres
            let report =
                switch scenario {
                case .p1: try await live.p1()
                case .p2: try await live.p2()
                case .e2e:
                    try await live.endToEnd(
                        jobs: jobs ?? 60, timeScale: timeScale, maxOutstanding: maxOutstanding, declaredSpeedFactor: declaredSpeedFactor,
                        stepCosts: try Self.numbers(stepCosts, option: "--step-costs") ?? [1, 1, 1])
                default: try await live.p4()
                }
            emit([report])
            try? FileManager.default.removeItem(atPath: workDirectory)
            return
        }
        if let writeTrace {
            let (generator, count, label) =
                switch scenario {
                case .p5: (P5Sanity().generator, jobs ?? 400_000, "p5")
                default: (P6Quality.generator, jobs ?? 4_000, "p6")
                }
            let text = generator.trace(jobs: count, seed: 1).jsonLines(comment: [
                "conductor bench \(label) trace, seed 1, \(count) jobs",
                "fields: id, arrival (s), checkpoint (null = none), work (units; seconds at speed 1), client"
            ])
            try text.write(toFile: writeTrace, atomically: true, encoding: .utf8)
            return
        }
        let replay = try trace.map { path in try Trace(jsonLines: String(contentsOfFile: path, encoding: .utf8)) }
        var reports: [BenchReport] = []
        switch scenario {
        case .p5:
            reports.append(P5Sanity(jobs: jobs ?? 400_000, seeds: seeds).run().report)
        case .p6, .p7, .robust:
            if sanityJobs > 0 {
                var check = P5Sanity(jobs: sanityJobs, seeds: 1)
                check.includeConductor = false
                let sanity = check.run()
                guard sanity.reproducesKnownResults else {
                    emit([sanity.report])
                    throw ValidationError("P5 does not reproduce the known results within ±5 %; P6/P7 not reported")
                }
                if !json {
                    let random = sanity.meanTimeInSystem["random"] ?? 0
                    let p2c = sanity.meanTimeInSystem["power-of-two"] ?? 0
                    print(
                        "P5 check (1 seed × \(sanityJobs) jobs): random \(fixed(random, 2)) (known 10.0), power-of-two \(fixed(p2c, 2)) (known 2.61): within ±5 %.\n"
                    )
                }
            }
            var chosen = SchedulerKnobs.recommended
            if let knobs {
                do { chosen = try ClusterConfig.knobs(JSONValue(parsing: knobs)) } catch {
                    throw ValidationError("--knobs: \(error)")
                }
            }
            let factors = try Self.numbers(swaps, option: "--swaps", allowZero: true)
            if scenario == .p6 {
                var quality = P6Quality(jobs: jobs ?? 4_000, seeds: seeds, trace: replay, knobs: chosen)
                quality.fleet.maxOutstanding = maxOutstanding
                quality.coldStart = coldStart
                if let factors { quality.swapFactors = factors }
                reports.append(quality.run())
            } else if scenario == .robust {
                var robust = Robustness(jobs: jobs ?? 4_000, seeds: seeds)
                robust.knobs = chosen
                robust.maxOutstanding = maxOutstanding
                robust.coldStart = coldStart
                if let factors { robust.swapFactors = factors }
                reports.append(robust.run())
            } else {
                var affinity = P7Affinity(jobs: jobs ?? 4_000, seeds: seeds, trace: replay, maxOutstanding: maxOutstanding)
                affinity.quality.coldStart = coldStart
                reports.append(affinity.run())
            }
        case .p8:
            reports.append(P8DecisionCost(decisions: samples, rounds: max(30, samples / 1_000)).run())
        case .p1, .p2, .p3, .p4, .e2e:
            break
        }
        emit(reports)
    }

    func emit(_ reports: [BenchReport]) {
        if json {
            print(JSONValue.array(reports.map(\.json)).jsonString(.compact))
        } else {
            for report in reports { print(report.text) }
        }
    }
}

extension BenchCommand {
    /// A comma-separated list of numbers > 0 (≥ 0 with `allowZero`); nil when the option was not given.
    static func numbers(_ list: String?, option: String, allowZero: Bool = false) throws -> [Double]? {
        try list.map { list in
            try list.split(separator: ",").map { item in
                guard let number = Double(item.trimmingCharacters(in: .whitespaces)), number.isFinite,
                    allowZero ? number >= 0 : number > 0
                else { throw ValidationError("\(option): '\(item)' is not a number \(allowZero ? "≥" : ">") 0") }
                return number
            }
        }
    }
}

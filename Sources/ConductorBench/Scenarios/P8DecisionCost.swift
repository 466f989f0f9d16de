import ConductorCore

/// P8: wall-clock cost of scheduling decisions with 64 nodes and 10,000 queued jobs, measured with ContinuousClock.
///
/// Measures one `Scheduler.decide` (a single job's decision), one `Scheduler.place` (the same with every node's
/// reason, as the dispatcher records for each dispatched job), a full `Scheduler.assign` round over the whole
/// queue, and as baseline a plain least-committed pick over the same snapshots (no scheduler).
public struct P8DecisionCost: Sendable {
    public var nodes = 64
    public var queued = 10_000
    public var checkpoints = 16
    /// Samples of single decisions, and of full rounds.
    public var decisions = 20_000
    public var rounds = 30
    public var seed: UInt64 = 1

    public init(decisions: Int = 20_000, rounds: Int = 30, seed: UInt64 = 1) {
        self.decisions = decisions
        self.rounds = rounds
        self.seed = seed
    }

    /// A busy fleet: speeds 1 / 0.7 / 0.5 / 0.35, a resident checkpoint each, 0–2 prompts outstanding of 2,
    /// 40 class types and a checkpoint combo list; and a queue of jobs over `checkpoints` checkpoints (Zipf(1)).
    public func workload() -> (nodes: [NodeSnapshot], queue: [JobRequirements]) {
        var random = SplitMix64(seed: seed)
        let classes = Set((0..<40).map { "Node\($0)" })
        let names = (0..<checkpoints).map(TraceGenerator.checkpointName)
        let combos = ["CheckpointLoaderSimple": ["ckpt_name": Set(names)]]
        let speeds = [1, 0.7, 0.5, 0.35]
        let fleet = (0..<nodes).map { index in
            let outstanding = Int(random.next() % 3)
            let speed = speeds[index % speeds.count]
            return NodeSnapshot(
                name: "gpu-\(index)", outstanding: outstanding, maxOutstanding: 2, classTypes: classes,
                comboValues: combos, vramTotal: 24 << 30, vramFree: 12 << 30,
                residentCheckpoint: names[Int(random.next() % UInt64(checkpoints))], speed: speed,
                committedSeconds: Double(outstanding) * 4 / speed * random.unit(), checkpointLoadSeconds: 8)
        }
        let weights = (0..<checkpoints).map { 1 / Double($0 + 1) }
        let jobClasses: Set<String> = ["Node0", "Node3", "Node7", "Node12", "Node20", "Node31"]
        let queue = (0..<queued).map { _ in
            let checkpoint = names[random.pick(weights: weights)]
            return JobRequirements(
                classTypes: jobClasses,
                choices: [.init(classType: "CheckpointLoaderSimple", input: "ckpt_name", value: checkpoint)],
                checkpoint: checkpoint, work: 2 + 4 * random.unit())
        }
        return (fleet, queue)
    }

    public func run() -> BenchReport {
        let (fleet, queue) = workload()
        var checksum = 0
        let clock = ContinuousClock()
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        }
        func sample(_ count: Int, _ body: (Int) -> Int) -> Summary {
            for index in 0..<min(count, 200) { checksum &+= body(index) }  // warm-up
            var times: [Double] = []
            times.reserveCapacity(count)
            for index in 0..<count {
                var result = 0
                let elapsed = clock.measure { result = body(index) }
                checksum &+= result
                times.append(seconds(elapsed))
            }
            return Summary(times)
        }
        let decide = sample(decisions) { index in
            Scheduler.decide(queue[index % queue.count], on: fleet, knobs: .recommended).node ?? -1
        }
        let place = sample(decisions / 4) { index in
            Scheduler.place(queue[index % queue.count], on: fleet, knobs: .recommended).candidates.count
        }
        let baseline = sample(decisions) { _ in
            var best = -1
            for index in fleet.indices where fleet[index].outstanding < fleet[index].maxOutstanding {
                if best < 0 || fleet[index].committedSeconds < fleet[best].committedSeconds { best = index }
            }
            return best
        }
        // The checkpoint plan a dispatch round starts with: the queue's jobs as the last 600 s of demand, every node
        // starting from what it holds (the most moves; a running coordinator starts from its last plan).
        var demand = CheckpointDemand()
        for (index, job) in queue.enumerated() {
            demand.record(checkpoint: job.checkpoint, work: job.work, at: 600 * Double(index) / Double(queue.count))
        }
        let rates = demand.rates(at: 600)
        let planNodes = fleet.map { CheckpointPlan.Node(speed: $0.speed, current: $0.residentCheckpoint, loadSeconds: 8) }
        let plan = sample(max(rounds, decisions / 20)) { _ in CheckpointPlan.plan(planNodes, demand: rates).count }
        let roundRecommended = sample(rounds) { _ in Scheduler.assign(queue, to: fleet, knobs: .recommended).count }
        let roundDefault = sample(rounds) { _ in Scheduler.assign(queue, to: fleet, knobs: SchedulerKnobs()).count }
        let placed = Scheduler.assign(queue, to: fleet, knobs: .recommended).count
        let placedDefault = Scheduler.assign(queue, to: fleet, knobs: SchedulerKnobs()).count

        var report = BenchReport(scenario: "p8", title: "Decision cost (\(nodes) nodes, \(queued) queued jobs)")
        var table = Table(
            "Wall-clock per call (ContinuousClock), microseconds; \(fleet.filter { $0.outstanding < 2 }.count) of \(nodes) nodes have room:",
            headers: ["operation", "samples", "median µs", "p99 µs", "jobs placed"])
        func row(_ name: String, _ count: Int, _ summary: Summary, _ placed: String = "–") {
            table.rows.append([
                .text(name), .number(Double(count), digits: 0), .number(summary.median * 1e6, digits: 1),
                .number(summary.p99 * 1e6, digits: 1), .text(placed)
            ])
        }
        row("baseline: least-committed node with room (no scheduler)", decisions, baseline)
        row("Scheduler.decide, one job (.recommended)", decisions, decide)
        row("Scheduler.place, one job with every node's reason", decisions / 4, place)
        row("CheckpointPlan.plan from what the nodes hold (once per round)", max(rounds, decisions / 20), plan)
        row("Scheduler.assign, one round over the 10,000-job queue (.recommended)", rounds, roundRecommended, "\(placed)")
        row("Scheduler.assign, one round (default knobs)", rounds, roundDefault, "\(placedDefault)")
        report.tables.append(table)
        report.check("one decision p99 ≤ 1 ms", decide.p99 <= 0.001, "\(fixed(decide.p99 * 1e6, 1)) µs")
        report.check(
            "a dispatch round over 10,000 queued jobs p99 ≤ 1 ms (stricter reading)", roundRecommended.p99 <= 0.001,
            "\(fixed(roundRecommended.p99 * 1e3, 2)) ms")
        report.notes.append("checksum \(checksum) (keeps the optimiser from dropping the calls)")
        return report
    }
}

import ConductorCore
import Testing

/// Which node the plan gives each checkpoint, from the demand the fleet sees.
@Suite struct CheckpointPlanTests {
    static let speeds = [1, 1, 0.7, 0.7, 0.5, 0.5, 0.35, 0.35]

    static func nodes(_ current: [String?] = Array(repeating: nil, count: speeds.count), load: Double = 8) -> [CheckpointPlan.Node] {
        speeds.indices.map { CheckpointPlan.Node(speed: speeds[$0], current: current[$0], loadSeconds: load) }
    }

    /// P6's demand: 0.89 jobs/s of 4 s, split 6 : 3 : 2 (Zipf(1) over three checkpoints).
    static let zipf: [String: CheckpointDemand.Rate] = [
        "a": .init(jobsPerSecond: 0.487, meanWork: 4, workVariability: 0.08),
        "b": .init(jobsPerSecond: 0.243, meanWork: 4, workVariability: 0.08),
        "c": .init(jobsPerSecond: 0.162, meanWork: 4, workVariability: 0.08)
    ]

    static func speed(of checkpoint: String, in plan: [String?]) -> Double {
        plan.indices.filter { plan[$0] == checkpoint }.reduce(0) { $0 + speeds[$1] }
    }

    @Test func everyCheckpointGetsSpeedInOrderOfDemandAndNoPoolIsOverloaded() {
        let plan = CheckpointPlan.plan(Self.nodes(), demand: Self.zipf)
        #expect(plan.allSatisfy { $0 != nil })
        let a = Self.speed(of: "a", in: plan)
        let b = Self.speed(of: "b", in: plan)
        let c = Self.speed(of: "c", in: plan)
        #expect(a > b && b >= c && c > 0)
        for (checkpoint, rate) in Self.zipf {
            #expect(rate.jobsPerSecond * rate.meanWork < Self.speed(of: checkpoint, in: plan))
        }
    }

    @Test func aSmallChangeOfDemandMovesNoNode() {
        let plan = CheckpointPlan.plan(Self.nodes(), demand: Self.zipf)
        var noisy = Self.zipf
        noisy["a"]!.jobsPerSecond *= 0.95
        noisy["c"]!.jobsPerSecond *= 1.05
        #expect(CheckpointPlan.plan(Self.nodes(plan), demand: noisy) == plan)
    }

    @Test func demandThatMovesToAnotherCheckpointTakesTheFastNodesWithIt() {
        let before = CheckpointPlan.plan(Self.nodes(), demand: Self.zipf)
        let after = CheckpointPlan.plan(
            Self.nodes(before), demand: ["c": .init(jobsPerSecond: 0.8, meanWork: 4, workVariability: 0.08)])
        #expect(after[0] == "c" && after[1] == "c")
        #expect(Self.speed(of: "c", in: after) > 0.8 * 4)
        #expect(!after.contains("a") && !after.contains("b"))
    }

    @Test func nodesThatTakeNoWorkAndAFleetWithoutDemandGetNoCheckpoint() {
        var nodes = Self.nodes()
        nodes[0].speed = 0
        #expect(CheckpointPlan.plan(nodes, demand: Self.zipf)[0] == nil)
        #expect(CheckpointPlan.plan(Self.nodes(["a", "b", "c", nil, nil, nil, nil, nil]), demand: [:]).allSatisfy { $0 == nil })
    }

    @Test func aNodeIsOnlyPlannedForCheckpointsItCanLoad() {
        var nodes = Self.nodes()
        nodes[0].checkpoints = ["b", "c"]
        nodes[1].checkpoints = ["b", "c"]
        let plan = CheckpointPlan.plan(nodes, demand: Self.zipf)
        #expect(plan[0] != "a" && plan[1] != "a")
        #expect(plan.contains("a"))
    }

    @Test func moreCheckpointsThanNodesServeTheMostAskedFor() {
        let nodes = [1.0, 1].map { CheckpointPlan.Node(speed: $0, current: nil, loadSeconds: 8) }
        let demand: [String: CheckpointDemand.Rate] = [
            "a": .init(jobsPerSecond: 0.1, meanWork: 4), "b": .init(jobsPerSecond: 0.01, meanWork: 4),
            "c": .init(jobsPerSecond: 0.2, meanWork: 4)
        ]
        #expect(Set(CheckpointPlan.plan(nodes, demand: demand).compactMap { $0 }) == ["a", "c"])
    }

    @Test func demandIsTheWindowsArrivalsPerCheckpoint() {
        var demand = CheckpointDemand(windowSeconds: 100)
        for second in 0..<200 {
            demand.record(checkpoint: second.isMultiple(of: 4) ? "b" : "a", work: second < 100 ? 10 : 2, at: Double(second))
            demand.record(checkpoint: nil, work: 5, at: Double(second))
        }
        var readOften = demand
        for time in stride(from: 100.0, to: 200, by: 7) { _ = readOften.rates(at: time) }
        let rates = demand.rates(at: 200)
        // Reading the rates as time goes (the window's sums kept as jobs leave it) gives the same answer.
        let often = readOften.rates(at: 200)
        #expect(often.keys.sorted() == rates.keys.sorted())
        for (checkpoint, rate) in rates {
            #expect(abs(often[checkpoint]!.jobsPerSecond - rate.jobsPerSecond) < 1e-9)
            #expect(abs(often[checkpoint]!.meanWork - rate.meanWork) < 1e-9)
        }
        #expect(rates.keys.sorted() == ["a", "b"])
        // The last 100 s: 3 of 4 seconds for a, every job of work 2 (the work-10 jobs are older than the window).
        #expect(abs(rates["a"]!.jobsPerSecond - 0.75) < 0.02)
        #expect(abs(rates["b"]!.jobsPerSecond - 0.25) < 0.02)
        #expect(rates["a"]!.meanWork == 2 && rates["a"]!.workVariability == 0)
        #expect(demand.rates(at: 1_000).isEmpty)
    }
}

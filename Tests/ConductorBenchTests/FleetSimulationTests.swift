import ConductorBench
import ConductorCore
import Testing

@Suite("fleet simulation")
struct FleetSimulationTests {
    static let policies: [DispatchPolicy] = [
        .random, .powerOfTwo, .shortestQueue, .roundRobin, .reference, .conductor(.recommended),
        .conductor(SchedulerKnobs()), .conductorAffinityOff(.recommended)
    ]

    @Test("every job completes exactly once, after it arrives, under every policy", arguments: policies)
    func conservation(policy: DispatchPolicy) {
        let trace = P6Quality.generator.trace(jobs: 400, seed: 5)
        let result = FleetSimulation(fleet: .p6(swapSeconds: 8), policy: policy).run(trace)
        #expect(result.completions.allSatisfy { $0 == 1 })
        #expect(trace.jobs.indices.allSatisfy { result.start[$0] >= trace.jobs[$0].arrival })
        #expect(trace.jobs.indices.allSatisfy { result.finish[$0] >= result.start[$0] + trace.jobs[$0].work - 1e-9 })
    }

    @Test("the same trace and seed give the same run")
    func determinism() {
        let trace = P6Quality.generator.trace(jobs: 300, seed: 2)
        let a = FleetSimulation(fleet: .p6(swapSeconds: 2), policy: .powerOfTwo, seed: 4).run(trace)
        let b = FleetSimulation(fleet: .p6(swapSeconds: 2), policy: .powerOfTwo, seed: 4).run(trace)
        #expect(a.finish == b.finish && a.swaps == b.swaps)
    }

    @Test("a lone job on an idle fleet takes its work on the fastest node plus one load")
    func loneJob() {
        let trace = Trace(jobs: [TraceJob(id: 0, arrival: 1, checkpoint: "a", work: 4)])
        let result = FleetSimulation(fleet: .p6(swapSeconds: 3), policy: .conductor(.recommended)).run(trace)
        #expect(abs(result.completion.mean - 7) < 1e-9)
        #expect(result.swaps == 0, "a first load replaces nothing")
    }

    @Test("the lower bound is the no-wait time on the fastest node when the fleet is lightly loaded")
    func lowerBound() {
        let trace = Trace(jobs: [TraceJob(id: 0, arrival: 0, checkpoint: nil, work: 4), TraceJob(id: 1, arrival: 100, checkpoint: nil, work: 2)])
        let bound = LowerBound(trace: trace, speeds: [1, 0.5])
        // 6 units over 100 s fit on the fast node: (4 + 2) / 1 / 2 jobs, whichever reading.
        #expect(bound.fastestNodesAvailable == 3)
        #expect(bound.everyJobOnFastestNode == 3)
        #expect(abs(bound.srptOnPooledMachine - 2) < 1e-12)
        #expect(bound.value == 3)
    }

    @Test("when the fastest node cannot carry the work, the bound counts the rest at the next speed")
    func lowerBoundUnderLoad() {
        // The same work arriving within 2 s: the fast node can do 2 units, the next node 1 unit at 0.5, the 3 past
        // the span count at speed 1.
        let rushed = Trace(jobs: [TraceJob(id: 0, arrival: 0, checkpoint: nil, work: 4), TraceJob(id: 1, arrival: 2, checkpoint: nil, work: 2)])
        let bound = LowerBound(trace: rushed, speeds: [1, 0.5])
        #expect(bound.fastestNodesAvailable == 3.5, "(2 + 2 + 3) / 2 jobs")
        #expect(bound.everyJobOnFastestNode == 3)
        #expect(bound.value == 3.5)
    }

    @Test("SRPT on the pooled machine runs the shorter job first")
    func srpt() {
        // Speed 1: job 0 (work 10) at 0, job 1 (work 1) at 1 preempts it: completions 2 − 1 = 1 and 11.
        let trace = Trace(jobs: [TraceJob(id: 0, arrival: 0, checkpoint: nil, work: 10), TraceJob(id: 1, arrival: 1, checkpoint: nil, work: 1)])
        #expect(abs(LowerBound(trace: trace, speeds: [1]).srptOnPooledMachine - 6) < 1e-12)
    }

    @Test("P5 at reduced size lands near the known results (loose tolerance)")
    func p5Small() {
        var sanity = P5Sanity(jobs: 20_000, seeds: 1)
        sanity.includeConductor = false
        let means = sanity.run().meanTimeInSystem
        #expect(abs((means["random"] ?? 0) / 10 - 1) < 0.25)
        #expect(abs((means["power-of-two"] ?? 0) / 2.61 - 1) < 0.12)
        #expect((means["shortest queue"] ?? .infinity) <= (means["power-of-two"] ?? 0) * 1.02)
    }

    @Test("a LoRA other than the node's last one costs its switch time; the same one costs nothing")
    func loraSwitches() {
        var fleet = SimulatedFleet(speeds: [1], swapSeconds: 0)
        fleet.loraSeconds = 2
        let trace = Trace(jobs: [
            TraceJob(id: 0, arrival: 0, checkpoint: "a", work: 1, lora: "x"),
            TraceJob(id: 1, arrival: 10, checkpoint: "a", work: 1, lora: "x"),
            TraceJob(id: 2, arrival: 20, checkpoint: "a", work: 1, lora: "y"),
            TraceJob(id: 3, arrival: 30, checkpoint: "a", work: 1)
        ])
        let result = FleetSimulation(fleet: fleet, policy: .conductor(.recommended)).run(trace)
        #expect(trace.jobs.indices.map { result.finish[$0] - trace.jobs[$0].arrival } == [3, 1, 3, 3])
    }

    @Test("a node that has left takes no new job and one that has not joined yet takes none either", arguments: policies)
    func nodesLeaveAndJoin(policy: DispatchPolicy) {
        var fleet = SimulatedFleet.p6(swapSeconds: 2)
        fleet.outages = [.init(node: 0, from: 200), .init(node: 1, from: 0, until: 200)]
        let trace = P6Quality.generator.trace(jobs: 400, seed: 6)
        let result = FleetSimulation(fleet: fleet, policy: policy).run(trace)
        #expect(result.completions.allSatisfy { $0 == 1 })
        for index in trace.jobs.indices where result.node[index] == 0 { #expect(result.sent[index] < 200) }
        for index in trace.jobs.indices where result.node[index] == 1 { #expect(result.sent[index] >= 200) }
        #expect(result.node.contains(0) && result.node.contains(1))
    }
}

extension DispatchPolicy: CustomTestStringConvertible {
    public var testDescription: String { name }
}

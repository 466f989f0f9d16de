import ConductorCore
import Testing

/// The dispatcher the coordinator and the benchmark simulation both run, driven with plain values and a manual clock
/// (seconds): jobs in, placements out.
@Suite struct FleetDispatcherTests {
    static func node(
        _ name: String, maxOutstanding: Int = 1, speed: Double = 1, load: Double = 0, resident: String? = nil,
        vram: Int64 = 0, jobs: [FleetDispatcher.Outstanding] = []
    ) -> FleetDispatcher.NodeView {
        FleetDispatcher.NodeView(
            snapshot: NodeSnapshot(
                name: name, maxOutstanding: maxOutstanding, vramTotal: vram, residentCheckpoint: resident,
                speed: speed, checkpointLoadSeconds: load),
            outstanding: jobs)
    }

    static func job(_ checkpoint: String? = nil, work: Double = 10) -> JobRequirements {
        JobRequirements(checkpoint: checkpoint, work: work)
    }

    /// Enqueues jobs of the given clients (each of `work`) at `now`, in order, and returns them as waiting.
    static func enqueue(
        _ clients: [String], work: Double = 10, into dispatcher: inout FleetDispatcher, at now: Double = 0
    )
        -> [FleetDispatcher.Waiting]
    {
        clients.map { client in
            let stamp = dispatcher.enqueue(client: client, work: work, checkpoint: nil, at: now)
            return FleetDispatcher.Waiting(requirements: job(work: work), stamp: stamp)
        }
    }

    @Test func lateBindingPlacesOnlyWhatNodesHaveRoomFor() {
        var dispatcher = FleetDispatcher(knobs: .recommended)
        let waiting = Self.enqueue(["a", "a", "a"], into: &dispatcher)
        let round = dispatcher.round(waiting: waiting, nodes: [Self.node("A"), Self.node("B")], at: 0)
        #expect(round.assignments.map(\.job).sorted() == [0, 1])
        #expect(Set(round.assignments.map(\.node)) == [0, 1])
        // Both full: nothing is placed, and the round does not even look at the queue.
        let busy = Self.node("A", jobs: [.init(requirements: Self.job(), startedAt: 0)])
        #expect(dispatcher.round(waiting: waiting, nodes: [busy], at: 1).assignments.isEmpty)
        #expect(!FleetDispatcher.anyTakesWork([busy]))
    }

    @Test func fairSharesInterleaveClientsAndFrontGoesFirst() {
        var dispatcher = FleetDispatcher(knobs: .recommended)
        // Alice queued three jobs before Bob's one: one node, one slot, one placement per round.
        var waiting = Self.enqueue(["alice", "alice", "alice", "bob"], into: &dispatcher)
        var order: [Int] = []
        var remaining = Array(waiting.indices)
        for second in 0..<4 {
            let round = dispatcher.round(waiting: remaining.map { waiting[$0] }, nodes: [Self.node("A")], at: Double(second))
            let placed = remaining[round.assignments[0].job]
            order.append(placed)
            remaining.removeAll { $0 == placed }
        }
        #expect(order == [0, 3, 1, 2], "Bob's job goes second, not behind all of Alice's")
        // A `front` job jumps every share.
        waiting = Self.enqueue(["alice", "bob"], into: &dispatcher, at: 5)
        waiting[1].isFront = true
        #expect(dispatcher.round(waiting: waiting, nodes: [Self.node("A")], at: 5).assignments.map(\.job) == [1])
    }

    @Test func retryBudgetLetsReRunsOutOneAtATime() {
        var dispatcher = FleetDispatcher(knobs: .recommended, retryBudgetFraction: 0, minRetryConcurrency: 1)
        var waiting = Self.enqueue(["a", "a", "a"], into: &dispatcher)
        waiting[0].nodeFailures = 1
        waiting[1].nodeFailures = 1
        let nodes = ["A", "B", "C"].map { Self.node($0) }
        // Two re-runs wait, the budget is one: the first re-run and the first try go out.
        #expect(dispatcher.withinRetryBudget(waiting, nodes: nodes) == [0, 2])
        // With a re-run already on a node, no other re-run goes out.
        let rerunning = Self.node("A", jobs: [.init(requirements: Self.job(), startedAt: 0, nodeFailures: 1)])
        #expect(dispatcher.withinRetryBudget(waiting, nodes: [rerunning] + nodes.dropFirst()) == [2])
        let round = dispatcher.round(waiting: waiting, nodes: [rerunning] + nodes.dropFirst(), at: 1)
        #expect(round.assignments.map(\.job) == [2])
    }

    @Test func aRunningJobCountsWhatIsLeftOfItAndAnOverrunAsLongAgain() {
        let dispatcher = FleetDispatcher(knobs: .recommended)
        // A 10-unit job on a node of speed 1, started at 0.
        let node = Self.node("A", jobs: [.init(requirements: Self.job(work: 10), startedAt: 0)])
        #expect(dispatcher.snapshot(of: node, at: 4).committedSeconds == 6)
        #expect(dispatcher.snapshot(of: node, at: 10).committedSeconds == 0)
        // Three seconds past its prediction: taken to need three more.
        #expect(dispatcher.snapshot(of: node, at: 13).committedSeconds == 3)
        // A job waiting behind it adds its whole time, with a load when its checkpoint is not the node's.
        var loaded = Self.node(
            "A", load: 5, resident: "x",
            jobs: [
                .init(requirements: Self.job("x", work: 10), startedAt: 0),
                .init(requirements: Self.job("y", work: 10))
            ])
        #expect(dispatcher.snapshot(of: loaded, at: 4).committedSeconds == 6 + 5 + 10)
        loaded.outstanding.removeLast()
        #expect(dispatcher.snapshot(of: loaded, at: 4).outstanding == 1)
    }

    @Test func learnedVRAMKeepsAJobOffNodesTooSmallForItsCheckpoint() {
        var dispatcher = FleetDispatcher(knobs: .recommended)
        dispatcher.vramNeeds["big.safetensors"] = 20 << 30
        let stamp = dispatcher.enqueue(client: "a", work: 10, checkpoint: "big.safetensors", at: 0)
        let waiting = [FleetDispatcher.Waiting(requirements: Self.job("big.safetensors"), stamp: stamp)]
        // The small node is faster and idle; only the large one can hold the checkpoint.
        let nodes = [Self.node("small", speed: 4, vram: 8 << 30), Self.node("large", speed: 1, vram: 24 << 30)]
        #expect(dispatcher.round(waiting: waiting, nodes: nodes, at: 0).assignments.map(\.node) == [1])
    }

    @Test func thePlanFollowsDemandAndIsKeptBetweenRounds() {
        var dispatcher = FleetDispatcher(knobs: .recommended)
        // Steady demand for one checkpoint: the plan puts it on the nodes, and the next round starts from that plan.
        var waiting: [FleetDispatcher.Waiting] = []
        for second in 0..<20 {
            let stamp = dispatcher.enqueue(client: "a", work: 10, checkpoint: "x", at: Double(second))
            waiting.append(.init(requirements: Self.job("x"), stamp: stamp))
        }
        let nodes = [Self.node("A", load: 5), Self.node("B", load: 5)]
        let round = dispatcher.round(waiting: waiting, nodes: nodes, at: 20)
        #expect(round.snapshots.compactMap(\.plannedCheckpoint).contains("x"))
        #expect(dispatcher.plan.values.contains("x"))
        #expect(round.assignments.count == 2)
    }
}

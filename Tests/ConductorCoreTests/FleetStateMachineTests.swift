import ComfyWire
import ConductorCore
import Testing

/// The coordinator's rules as events in and actions out, on a manual clock (seconds): no sockets, no sleeps.
@Suite struct FleetStateMachineTests {
    typealias Action = FleetStateMachine.Action

    /// A fleet of nodes that run `KSampler`, with the state machine and a clock.
    struct Fleet {
        var machine: FleetStateMachine
        var now = 0.0
        var sequence: Int64 = 0

        init(nodes: [(name: String, maxOutstanding: Int)] = [("a", 1), ("b", 1)], limits: String = "", keys: String = "") throws {
            let list = nodes.map { #"{"name": "\#($0.name)", "url": "http://\#($0.name):8188", "maxOutstanding": \#($0.maxOutstanding)}"# }
            let config = try ClusterConfig(json: #"{"nodes": [\#(list.joined(separator: ","))], "limits": {\#(limits)}\#(keys)}"#)
            machine = FleetStateMachine(config: config, instanceID: "test")
            for node in nodes { up(node.name) }
        }

        var moment: FleetStateMachine.Moment { .init(seconds: now, epochMilliseconds: 1_700_000_000_000 + Int64(now * 1000)) }

        @discardableResult
        mutating func handle(_ event: FleetStateMachine.Event) -> [Action] { machine.handle(event, at: moment) }

        mutating func dispatch() -> [Action] { machine.dispatch(at: moment) ?? [] }

        /// A node that is up, linked, and runs KSampler with any checkpoint.
        mutating func up(_ name: String) {
            handle(.capabilities(node: name, classTypes: ["KSampler"], comboValues: [:]))
            handle(.health(node: name, .up))
            handle(.webSocket(node: name, connected: true))
        }

        @discardableResult
        mutating func submit(_ id: String, client: String = "alice", checkpoint: String? = nil, work: Double = 10, front: Bool = false) -> [Action] {
            sequence += 1
            let job = Job(
                id: id, sequence: sequence, number: JSONNumber(front ? -Double(sequence) : Double(sequence)), clientID: client,
                principal: nil, prompt: [:], extraData: ["client_id": .string(client)], outputsToExecute: [], state: .queued,
                node: nil, placement: nil, createdAt: 0)
            return handle(.submitted(job, JobRequirements(classTypes: ["KSampler"], checkpoint: checkpoint, work: work), principal: nil))
        }

        /// Dispatches, and has each node accept what it was sent; returns where each job went.
        mutating func place() -> [String: String] {
            var placed: [String: String] = [:]
            for case .send(let job, let node) in dispatch() {
                placed[job] = node
                handle(.posted(job: job, node: node, .accepted))
            }
            return placed
        }

        mutating func start(_ id: String, on node: String) -> [Action] {
            handle(.message(node: node, .executionStart(promptID: id, timestamp: 0)))
        }

        /// A run that succeeds on its node, as the node's socket tells it; returns the actions of its end.
        mutating func succeed(_ id: String, on node: String, seconds: Double = 1) -> [Action] {
            var actions = start(id, on: node)
            now += seconds
            actions += handle(.message(node: node, .executionSuccess(promptID: id, timestamp: 0)))
            actions += handle(.message(node: node, .executing(node: nil, displayNode: nil, promptID: id)))
            guard case .readHistory? = actions.last else { return actions }
            actions += handle(.historyRead(job: id, node: node, Self.entry(id, seconds: seconds), requeueIfUnknown: false))
            actions += handle(.committed(job: id, node: node, ok: true))
            return actions
        }

        static func entry(_ id: String, status: String = "success", seconds: Double = 1) -> HistoryEntry {
            let event = status == "success" ? "execution_success" : "execution_error"
            return HistoryEntry(
                prompt: QueueItem(number: JSONNumber(0), promptID: id, prompt: [:], extraData: [:], outputsToExecute: []),
                outputs: ["9": ["images": [["filename": "a.png", "subfolder": "", "type": "output"]]]],
                status: HistoryStatus(
                    statusStr: status, completed: status == "success",
                    messages: [
                        StatusMessage(event: "execution_start", data: ["prompt_id": .string(id), "timestamp": 0]),
                        StatusMessage(event: event, data: ["prompt_id": .string(id), "timestamp": .int(Int(seconds * 1000))])
                    ]))
        }

        func state(_ id: String) -> Job.State? { machine.jobs[id]?.job.state }
        func node(of id: String) -> String? { machine.jobs[id]?.job.node }
    }

    static func sends(_ actions: [Action]) -> [String] { actions.compactMap { if case .send(let job, _) = $0 { job } else { nil } } }
    static func commits(_ actions: [Action]) -> [(job: String, entry: HistoryEntry)] {
        actions.compactMap { if case .commit(let job, _, let entry) = $0 { (job, entry) } else { nil } }
    }
    static func told(_ actions: [Action], _ client: String) -> [String] {
        actions.compactMap { if case .tell(let message, client) = $0 { message.type } else { nil } }
    }
    static func interrupts(_ actions: [Action]) -> [String] {
        actions.compactMap { if case .interrupt(let job, _) = $0 { job } else { nil } }
    }
    static func removals(_ actions: [Action]) -> [[String]] {
        actions.compactMap { if case .removeFromQueue(let jobs, _) = $0 { jobs } else { nil } }
    }
    static func writes(_ actions: [Action]) -> [FleetStateMachine.Write] {
        actions.compactMap { if case .persist(let write) = $0 { write } else { nil } }
    }

    // MARK: Late binding and the end of a job

    @Test func lateBindingSendsOnlyWhatNodesHaveRoomForAndAJobEndsOnce() throws {
        var fleet = try Fleet()
        for id in ["j1", "j2", "j3"] { fleet.submit(id) }
        let placed = fleet.place()
        #expect(placed.count == 2 && Set(placed.values) == ["a", "b"], "one job per node: maxOutstanding 1")
        #expect(fleet.state("j3") == .queued)
        #expect(fleet.dispatch().isEmpty, "both nodes full: nothing more is sent")

        let first = placed.first { $0.value == "a" }!.key
        let end = fleet.succeed(first, on: "a")
        #expect(Self.writes(end).contains(.state(job: first, .running, node: "a")))
        #expect(Self.commits(end).count == 1)
        #expect(Self.told(end, "alice") == ["execution_start", "execution_success", "executing"])
        #expect(fleet.machine.jobs[first] == nil)
        // The node's queue still lacks it, or its socket says it again: no second end.
        fleet.now += 5
        let again =
            fleet.handle(.queue(node: "a", QueueStatus(), askedAt: fleet.now))
            + fleet.handle(.message(node: "a", .executing(node: nil, displayNode: nil, promptID: first)))
        #expect(Self.commits(again).isEmpty && !again.contains { if case .readHistory = $0 { true } else { false } })
        // The slot it left takes the third job.
        #expect(fleet.place() == ["j3": "a"])
    }

    @Test func aCommitTheStoreRefusedIsTriedAgainFromTheNodesQueue() throws {
        var fleet = try Fleet(nodes: [("a", 1)])
        fleet.submit("j1")
        _ = fleet.place()
        _ = fleet.start("j1", on: "a")
        let read = fleet.handle(.message(node: "a", .executing(node: nil, displayNode: nil, promptID: "j1")))
        #expect(read.contains { if case .readHistory(job: "j1", node: "a", _) = $0 { true } else { false } })
        let commit = fleet.handle(.historyRead(job: "j1", node: "a", Fleet.entry("j1"), requeueIfUnknown: false))
        #expect(Self.commits(commit).count == 1)
        // Disk full: the job stays, and nobody hears of its end.
        let failed = fleet.handle(.committed(job: "j1", node: "a", ok: false))
        #expect(Self.told(failed, "alice").isEmpty)
        #expect(fleet.state("j1") == .running)
        // The node's next queue answer no longer has it: read and committed again.
        fleet.now += 5
        let retry = fleet.handle(.queue(node: "a", QueueStatus(), askedAt: fleet.now))
        #expect(retry.contains { if case .readHistory(job: "j1", node: "a", requeueIfUnknown: true) = $0 { true } else { false } })
    }

    // MARK: Nodes that fail

    @Test func aNodeThatGoesDownLosesItsJobsToTheFleetAndARunningOneAvoidsIt() throws {
        var fleet = try Fleet(nodes: [("a", 2), ("b", 2)])
        fleet.handle(.drain(node: "b", true))
        fleet.submit("run")
        fleet.submit("wait")
        #expect(fleet.place() == ["run": "a", "wait": "a"])
        _ = fleet.start("run", on: "a")
        fleet.handle(.drain(node: "b", false))
        let down = fleet.handle(.health(node: "a", .down))
        #expect(fleet.state("run") == .queued && fleet.state("wait") == .queued)
        #expect(fleet.machine.jobs["run"]?.nodeFailures == 1, "the running one was lost with its node")
        #expect(fleet.machine.jobs["wait"]?.nodeFailures == 0, "the waiting one never started: not a failure")
        #expect(Self.writes(down).filter { if case .state(_, .queued, nil, nil) = $0 { true } else { false } }.count == 2)
        // a comes back at once: the job it lost still goes to b.
        fleet.up("a")
        #expect(fleet.place()["run"] == "b")
    }

    @Test func aJobLostWithItsNodeTooOftenIsQuarantinedWithAnError() throws {
        var fleet = try Fleet(nodes: [("a", 1), ("b", 1)], limits: #""maxNodeFailures": 2"#)
        fleet.submit("j1")
        var node = fleet.place()["j1"]!
        _ = fleet.start("j1", on: node)
        fleet.handle(.health(node: node, .down))
        fleet.up(node)
        let other = fleet.place()["j1"]!
        #expect(other != node)
        _ = fleet.start("j1", on: other)
        node = other
        let lost = fleet.handle(.health(node: node, .down))
        let commit = try #require(Self.commits(lost).first)
        #expect(commit.entry.status?.statusStr == "error")
        #expect(commit.entry.status?.messages.first?.data["exception_type"] == "job_quarantined")
        let told = fleet.handle(.committed(job: "j1", node: node, ok: true))
        #expect(Self.told(told, "alice") == ["execution_error", "executing"])
        #expect(fleet.machine.jobs.isEmpty)
    }

    @Test func aJobTheNodeForgotIsRequeuedButNotOneStillBeingPosted() throws {
        var fleet = try Fleet(nodes: [("a", 1)])
        fleet.submit("j1")
        #expect(Self.sends(fleet.dispatch()) == ["j1"])
        // Not posted yet: a queue answer without it says nothing.
        fleet.now = 10
        #expect(!fleet.handle(.queue(node: "a", QueueStatus(), askedAt: 10)).contains { if case .readHistory = $0 { true } else { false } })
        fleet.handle(.posted(job: "j1", node: "a", .accepted))
        // Asked within the grace after the post: still nothing.
        #expect(!fleet.handle(.queue(node: "a", QueueStatus(), askedAt: 11)).contains { if case .readHistory = $0 { true } else { false } })
        fleet.now = 13
        let gone = fleet.handle(.queue(node: "a", QueueStatus(), askedAt: 13))
        #expect(gone.contains { if case .readHistory(job: "j1", node: "a", requeueIfUnknown: true) = $0 { true } else { false } })
        // Its history has nothing either (the node restarted): back to the queue, and sent again.
        fleet.handle(.historyRead(job: "j1", node: "a", nil, requeueIfUnknown: true))
        #expect(fleet.state("j1") == .queued)
        #expect(Self.sends(fleet.dispatch()) == ["j1"])
    }

    @Test func aJobPastItsTimeLimitIsInterruptedAndRunsElsewhere() throws {
        var fleet = try Fleet(limits: #""runTimeFloorSeconds": 60, "runTimeMultiple": 5"#)
        fleet.submit("j1", work: 1)
        let node = fleet.place()["j1"]!
        _ = fleet.start("j1", on: node)
        fleet.now += 59
        #expect(Self.interrupts(fleet.handle(.tick)).isEmpty)
        fleet.now += 2
        let overrun = fleet.handle(.tick)
        #expect(Self.interrupts(overrun) == ["j1"])
        #expect(fleet.state("j1") == .queued && fleet.machine.jobs["j1"]?.requirements.excludedNodes == [node])
        #expect(fleet.place()["j1"] != node)
    }

    @Test func aNodeThatKeepsFailingIsEjectedUnlessMostOfTheFleetIs() throws {
        var fleet = try Fleet(
            nodes: [("a", 1), ("b", 1), ("c", 1)], limits: #""ejectAfterFailures": 2, "ejectBaseSeconds": 10, "maxEjectedFraction": 0.4"#)
        fleet.handle(.drain(node: "b", true))
        fleet.handle(.drain(node: "c", true))
        fleet.submit("j1")
        for _ in 0..<2 {
            #expect(Self.sends(fleet.dispatch()) == ["j1"])
            #expect(fleet.node(of: "j1") == "a")
            fleet.handle(.posted(job: "j1", node: "a", .failed(status: 500)))
        }
        #expect(fleet.machine.ejectedNodes(at: fleet.now) == ["a"])
        fleet.handle(.drain(node: "b", false))
        #expect(fleet.place() == ["j1": "b"], "a waits out its ejection; b takes work")
        fleet.now += 11
        #expect(fleet.machine.ejectedNodes(at: fleet.now).isEmpty, "ejected for 10 s")
        // Panic: with two of three nodes ejected (more than 40 %), none is.
        var panic = try Fleet(nodes: [("a", 1), ("b", 1), ("c", 1)], limits: #""ejectAfterFailures": 1, "maxEjectedFraction": 0.4"#)
        panic.handle(.drain(node: "c", true))
        panic.submit("x")
        panic.submit("y")
        let sent = panic.dispatch().compactMap { if case .send(let job, let node) = $0 { (job, node) } else { nil } }
        #expect(Set(sent.map(\.1)) == ["a", "b"])
        for (job, node) in sent { panic.handle(.posted(job: job, node: node, .failed(status: 500))) }
        #expect(panic.machine.nodes["a"]?.ejection.isEjected(at: panic.now) == true)
        #expect(panic.machine.nodes["b"]?.ejection.isEjected(at: panic.now) == true)
        #expect(panic.machine.ejectedNodes(at: panic.now).isEmpty)
    }

    @Test func aNodeWithoutItsWebSocketTooLongGivesBackItsWaitingJobs() throws {
        var fleet = try Fleet(nodes: [("a", 2)], limits: #""nodeWebSocketGraceSeconds": 15"#)
        fleet.submit("run")
        fleet.submit("wait")
        _ = fleet.place()
        _ = fleet.start("run", on: "a")
        fleet.handle(.webSocket(node: "a", connected: false))
        fleet.now += 10
        #expect(Self.removals(fleet.handle(.tick)).isEmpty)
        fleet.now += 6
        let released = fleet.handle(.tick)
        #expect(Self.removals(released) == [["wait"]])
        #expect(fleet.state("wait") == .queued && fleet.state("run") == .running, "a running job stays: polls still see its end")
        #expect(fleet.dispatch().isEmpty, "no new work for a node without its socket")
    }

    @Test func aNodeThatComesBackIsToldToDropWhatMovedElsewhereWaitingFirst() throws {
        var fleet = try Fleet(nodes: [("a", 2)])
        let mine = { (id: String) in
            QueueItem(number: JSONNumber(1), promptID: id, prompt: [:], extraData: ["client_id": "conductor-test-a"], outputsToExecute: [])
        }
        let theirs = QueueItem(number: JSONNumber(2), promptID: "other", prompt: [:], extraData: ["client_id": "someone"], outputsToExecute: [])
        let actions = fleet.handle(.queue(node: "a", QueueStatus(running: [mine("old-run")], pending: [mine("old-wait"), theirs]), askedAt: 0))
        let order = actions.compactMap { action -> String? in
            switch action {
            case .removeFromQueue(let ids, _): "delete \(ids)"
            case .interrupt(let id, _): "interrupt \(id)"
            default: nil
            }
        }
        #expect(order == [#"delete ["old-wait"]"#, "interrupt old-run"], "another client's prompt is left alone")
    }

    @Test func aJobThatSucceededOnANodeThatThenDiedIsNotRunAgain() throws {
        var fleet = try Fleet(nodes: [("a", 1), ("b", 1)])
        fleet.submit("j1")
        let node = fleet.place()["j1"]!
        _ = fleet.start("j1", on: node)
        fleet.handle(
            .message(
                node: node,
                .executed(node: "9", displayNode: "9", output: ["images": [["filename": "x.png", "subfolder": "", "type": "output"]]], promptID: "j1")
            ))
        fleet.handle(.message(node: node, .executionSuccess(promptID: "j1", timestamp: 5)))
        let down = fleet.handle(.health(node: node, .down))
        #expect(down.contains { if case .readHistory(job: "j1", _, requeueIfUnknown: true) = $0 { true } else { false } })
        // Its history died with it: what the socket said is committed.
        let commit = try #require(Self.commits(fleet.handle(.historyRead(job: "j1", node: node, nil, requeueIfUnknown: true))).first)
        #expect(commit.entry.status?.statusStr == "success")
        #expect(commit.entry.outputs["9"]?["images"]?[0]?["subfolder"]?.stringValue == node, "outputs named by the node they are on")
    }

    @Test func anEndLearnedOnlyFromHistoryIsStillToldToTheClient() throws {
        var fleet = try Fleet(nodes: [("a", 1)])
        fleet.submit("j1")
        _ = fleet.place()
        // The socket said nothing (it was reconnecting); the queue poll finds it gone.
        fleet.now = 10
        fleet.handle(.queue(node: "a", QueueStatus(), askedAt: 10))
        fleet.handle(.historyRead(job: "j1", node: "a", Fleet.entry("j1"), requeueIfUnknown: true))
        let told = fleet.handle(.committed(job: "j1", node: "a", ok: true))
        #expect(Self.told(told, "alice") == ["executed", "execution_success", "executing"])
    }

    // MARK: Posting

    @Test func aPostTheNodeRefusesFailsTheJobWithItsAnswer() throws {
        var fleet = try Fleet(nodes: [("a", 1)])
        fleet.submit("j1")
        _ = fleet.dispatch()
        let answer: JSONValue = [
            "error": ["type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": ""],
            "node_errors": ["3": ["class_type": "KSampler"]]
        ]
        let refused = fleet.handle(.posted(job: "j1", node: "a", .refused(answer)))
        let commit = try #require(Self.commits(refused).first)
        #expect(commit.entry.status?.messages.first?.data["node_type"] == "KSampler")
        #expect(Self.told(fleet.handle(.committed(job: "j1", node: "a", ok: true)), "alice") == ["execution_error", "executing"])
    }

    @Test func lostCopiesAreSentAgainAndUnreachableNodesAreSuspect() throws {
        var fleet = try Fleet(nodes: [("a", 1)])
        fleet.submit("j1")
        _ = fleet.dispatch()
        fleet.handle(.posted(job: "j1", node: "a", .lostCopies))
        #expect(fleet.state("j1") == .queued && fleet.machine.jobs["j1"]?.lostCopyRetries == 1)
        _ = fleet.dispatch()
        fleet.handle(.posted(job: "j1", node: "a", .unreachable("connection refused")))
        #expect(fleet.state("j1") == .queued)
        #expect(fleet.machine.nodes["a"]?.health == .suspect, "held back until its next good poll")
        #expect(fleet.dispatch().isEmpty)
        fleet.handle(.health(node: "a", .up))
        #expect(Self.sends(fleet.dispatch()) == ["j1"])
    }

    @Test func aPostResultForAJobThatMovedMeanwhileChangesNothing() throws {
        var fleet = try Fleet(nodes: [("a", 1), ("b", 1)])
        fleet.submit("j1")
        let first = Self.sends(fleet.dispatch())
        #expect(first == ["j1"])
        let node = fleet.node(of: "j1")!
        fleet.handle(.health(node: node, .down))
        #expect(fleet.machine.awaitsPost("j1", on: node) == nil, "its lane no longer posts it")
        #expect(fleet.handle(.posted(job: "j1", node: node, .accepted)).isEmpty)
        #expect(fleet.state("j1") == .queued)
    }

    // MARK: Sharing and steering

    @Test func fairSharesInterleaveClientsAndFrontGoesFirst() throws {
        var fleet = try Fleet(nodes: [("a", 1)])
        for id in ["a1", "a2", "a3"] { fleet.submit(id, client: "alice") }
        fleet.submit("b1", client: "bob")
        var order: [String] = []
        for _ in 0..<2 {
            let id = try #require(fleet.place().keys.first)
            order.append(id)
            _ = fleet.succeed(id, on: "a")
        }
        #expect(order == ["a1", "b1"], "Bob's job goes second, not behind all of Alice's")
        fleet.submit("urgent", client: "carol", front: true)
        #expect(fleet.place().keys.first == "urgent")
    }

    @Test func aDrainedNodeTakesNothingNewAndTheDrainIsStored() throws {
        var fleet = try Fleet(nodes: [("a", 1), ("b", 1)])
        let drain = fleet.handle(.drain(node: "a", true))
        #expect(Self.writes(drain) == [.draining(node: "a", true)])
        for id in ["j1", "j2"] { fleet.submit(id) }
        #expect(fleet.place() == ["j1": "b"])
        #expect(Self.writes(fleet.handle(.drain(node: "a", true))).isEmpty, "draining twice writes nothing")
    }

    @Test func aJobOutOfVRAMMovesToALargerNodeUnheardAndItsCheckpointIsTaught() throws {
        var fleet = try Fleet(nodes: [("small", 1), ("big", 1)])
        fleet.handle(.vram(node: "small", total: 8 << 30, free: 8 << 30))
        fleet.handle(.vram(node: "big", total: 24 << 30, free: 24 << 30))
        fleet.handle(.drain(node: "big", true))
        fleet.submit("j1", checkpoint: "flux.safetensors")
        #expect(fleet.place() == ["j1": "small"])
        _ = fleet.start("j1", on: "small")
        fleet.handle(.drain(node: "big", false))
        let oom = ExecutionError(
            promptID: "j1", nodeID: "3", nodeType: "KSampler", executed: [], exceptionMessage: "CUDA out of memory",
            exceptionType: "torch.OutOfMemoryError", traceback: [], currentInputs: [:], currentOutputs: [], timestamp: 1)
        let moved = fleet.handle(.message(node: "small", .executionError(oom)))
        #expect(Self.told(moved, "alice").isEmpty, "the client does not hear the error")
        #expect(Self.writes(moved).contains(.vramNeeds(["flux.safetensors": (8 << 30) + 1])))
        #expect(fleet.place() == ["j1": "big"])
        // With no larger node, the error stands as on a single ComfyUI.
        var alone = try Fleet(nodes: [("small", 1)])
        alone.handle(.vram(node: "small", total: 8 << 30, free: 8 << 30))
        alone.submit("j2")
        _ = alone.place()
        _ = alone.start("j2", on: "small")
        #expect(
            Self.told(
                alone.handle(
                    .message(
                        node: "small",
                        .executionError(
                            ExecutionError(
                                promptID: "j2", nodeID: "3", nodeType: "KSampler", executed: [], exceptionMessage: "CUDA out of memory",
                                exceptionType: "torch.OutOfMemoryError", traceback: [], currentInputs: [:], currentOutputs: [], timestamp: 1)))),
                "alice")
                == ["execution_error"])
    }

    // MARK: Operators

    @Test func deletingWaitingJobsLeavesRunningOnesAndRemovingANodeRequeuesItsJobs() throws {
        var fleet = try Fleet(nodes: [("a", 2), ("b", 1)])
        fleet.handle(.drain(node: "b", true))
        for id in ["run", "wait", "queued"] { fleet.submit(id) }
        _ = fleet.place()
        _ = fleet.start("run", on: "a")
        let deleted = fleet.handle(.deleteWaiting(["run", "queued"]))
        #expect(Self.writes(deleted) == [.delete(job: "queued")])
        #expect(fleet.machine.jobs["run"] != nil && fleet.machine.jobs["queued"] == nil)
        let removed = fleet.handle(.nodeRemoved("a"))
        #expect(Self.removals(removed) == [["wait"]] && Self.interrupts(removed) == ["run"])
        #expect(fleet.state("run") == .queued && fleet.state("wait") == .queued)
        #expect(fleet.machine.jobs["run"]?.nodeFailures == 0, "a removal is the operator's, not a failure")
        #expect(fleet.machine.nodeOrder == ["b"])
    }

    @Test func restoredJobsWaitAgainInQueueOrderOrStayOnTheirNode() throws {
        var fleet = try Fleet(nodes: [("a", 1)])
        func job(_ id: String, _ sequence: Int64, _ state: Job.State, _ node: String?) -> (job: Job, requirements: JobRequirements) {
            (
                Job(
                    id: id, sequence: sequence, number: JSONNumber(Double(sequence)), clientID: "alice", principal: nil, prompt: [:],
                    extraData: [:], outputsToExecute: [], state: state, node: node, placement: nil, createdAt: 0),
                JobRequirements(classTypes: ["KSampler"])
            )
        }
        fleet.machine.restore(
            [job("second", 2, .queued, nil), job("on-a", 1, .dispatched, "a"), job("third", 3, .queued, nil)],
            draining: [], vramNeeds: [:], at: 0)
        #expect(fleet.dispatch().isEmpty, "a holds its restored job")
        #expect(fleet.succeed("on-a", on: "a").contains { if case .commit = $0 { true } else { false } })
        #expect(Self.sends(fleet.dispatch()) == ["second"])
    }
}

extension ServerMessage {
    var type: String { json["type"]?.stringValue ?? "" }
}

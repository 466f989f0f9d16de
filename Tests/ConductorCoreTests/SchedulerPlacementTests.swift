import ComfyWire
import ConductorCore
import Foundation
import Testing

/// Hand-made fleets and the node each job should land on.
@Suite struct SchedulerPlacementTests {
    static let classes: Set<String> = ["CheckpointLoaderSimple", "KSampler", "EmptyLatentImage", "SaveImage"]

    static func node(
        _ name: String, health: NodeHealth = .up, draining: Bool = false, outstanding: Int = 0, maxOutstanding: Int = 2,
        classes: Set<String> = classes, checkpoints: Set<String>? = nil, vramTotal: Int64 = 0,
        resident: String? = nil, planned: String? = nil, speed: Double = 1, committed: Double = 0, load: Double = 0
    ) -> NodeSnapshot {
        NodeSnapshot(
            name: name, health: health, draining: draining, outstanding: outstanding, maxOutstanding: maxOutstanding,
            classTypes: classes,
            comboValues: checkpoints.map { ["CheckpointLoaderSimple": ["ckpt_name": $0]] } ?? [:],
            vramTotal: vramTotal, residentCheckpoint: resident, plannedCheckpoint: planned, speed: speed,
            committedSeconds: committed,
            checkpointLoadSeconds: load)
    }

    static func job(
        _ checkpoint: String? = "a.safetensors", work: Double = 10, classes: Set<String> = classes,
        vram: Int64? = nil
    ) -> JobRequirements {
        JobRequirements(
            classTypes: classes,
            choices: checkpoint.map { [.init(classType: "CheckpointLoaderSimple", input: "ckpt_name", value: $0)] } ?? [],
            checkpoint: checkpoint, work: work, vramNeeded: vram)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let nodes: [NodeSnapshot]
        let job: JobRequirements
        var knobs = SchedulerKnobs()
        let expected: String?
    }

    static let routing: [Case] = [
        Case(
            testDescription: "a checkpoint only node B has goes to B",
            nodes: [node("A", checkpoints: ["a.safetensors"]), node("B", checkpoints: ["a.safetensors", "b.safetensors"])],
            job: job("b.safetensors"), expected: "B"),
        Case(
            testDescription: "a repeat checkpoint stays on the node that holds it",
            nodes: [node("A", resident: "b.safetensors", load: 5), node("B", resident: "a.safetensors", load: 5)],
            job: job("a.safetensors"), expected: "B"),
        Case(
            testDescription: "a repeat checkpoint stays with its holder while the holder's queue is shorter than a load",
            nodes: [node("A", load: 5), node("B", outstanding: 1, resident: "a.safetensors", committed: 4.9, load: 5)],
            job: job("a.safetensors"), expected: "B"),
        Case(
            testDescription: "the checkpoint moves when the holder's committed work finishes later than load + run elsewhere",
            nodes: [node("A", load: 5), node("B", outstanding: 1, resident: "a.safetensors", committed: 5.1, load: 5)],
            job: job("a.safetensors"), expected: "A"),
        Case(
            testDescription: "a faster idle node wins over a slow idle one",
            nodes: [node("A", speed: 0.5), node("B", speed: 2), node("C", speed: 1)],
            job: job(nil), expected: "B"),
        Case(
            testDescription: "a faster idle node wins even when it must load the checkpoint, if that is sooner",
            nodes: [node("A", resident: "a.safetensors", speed: 0.5, load: 3), node("B", speed: 2, load: 3)],
            job: job("a.safetensors"), expected: "B"),
        Case(
            testDescription: "an equal finish goes to the node holding the checkpoint",
            nodes: [node("A", speed: 2, load: 5), node("B", resident: "a.safetensors", speed: 1)],
            job: job("a.safetensors"), expected: "B"),
        Case(
            testDescription: "an equal finish without affinity goes to the faster node",
            nodes: [node("A", speed: 1), node("B", speed: 2, committed: 5)],
            job: job(nil), expected: "B"),
        Case(
            testDescription: "affinity slack keeps the holder when it is at most that much later",
            nodes: [node("A", load: 1), node("B", resident: "a.safetensors", committed: 3)],
            job: job("a.safetensors"), knobs: SchedulerKnobs(affinitySlackSeconds: 2), expected: "B"),
        Case(
            testDescription: "affinity slack lets go of the holder when it is more than that much later",
            nodes: [node("A", load: 1), node("B", resident: "a.safetensors", committed: 3.5)],
            job: job("a.safetensors"), knobs: SchedulerKnobs(affinitySlackSeconds: 2), expected: "A"),
        Case(
            testDescription: "a job waits when every capable node is full",
            nodes: [node("A", outstanding: 2), node("B", outstanding: 1, maxOutstanding: 1)],
            job: job(), expected: nil),
        Case(
            testDescription: "a job is held for a full holder when that beats the best node with room by the gain",
            nodes: [node("A", load: 20), node("B", outstanding: 2, resident: "a.safetensors", committed: 8)],
            job: job(), knobs: SchedulerKnobs(waitForFullNodeGainSeconds: 5), expected: nil),
        Case(
            testDescription: "a job is not held for a full node whose gain is too small",
            nodes: [node("A", load: 10), node("B", outstanding: 2, resident: "a.safetensors", committed: 8)],
            job: job(), knobs: SchedulerKnobs(waitForFullNodeGainSeconds: 5), expected: "A"),
        Case(
            testDescription: "a start-delay weight sends a job to an idle slower node rather than behind a faster one",
            nodes: [node("A", outstanding: 1, speed: 2, committed: 4), node("B")],
            job: job(nil), knobs: SchedulerKnobs(startDelayWeight: 3), expected: "B"),
        Case(
            testDescription: "without a start-delay weight the job queues behind the faster node that finishes it first",
            nodes: [node("A", outstanding: 1, speed: 2, committed: 4), node("B")],
            job: job(nil), expected: "A"),
        Case(
            testDescription: "without an eviction weight equal finishes break by name even if that evicts a last holder",
            nodes: [
                node("A", resident: "b.safetensors", load: 5), node("C", resident: "c.safetensors", load: 5),
                node("D", resident: "c.safetensors", load: 5)
            ],
            job: job(), expected: "A"),
        Case(
            testDescription: "an eviction weight sends a load to the node the plan gives the job's checkpoint",
            nodes: [
                node("A", resident: "b.safetensors", planned: "b.safetensors", load: 5),
                node("C", resident: "c.safetensors", planned: "a.safetensors", load: 5),
                node("D", resident: "c.safetensors", planned: "c.safetensors", load: 5)
            ],
            job: job(), knobs: SchedulerKnobs(evictionWeight: 1), expected: "C"),
        Case(
            testDescription: "an eviction weight lets a faster node planned elsewhere lose to a slower one planned for the job",
            nodes: [
                node("A", resident: "b.safetensors", planned: "a.safetensors", speed: 1, load: 5),
                node("B", resident: "c.safetensors", planned: "c.safetensors", speed: 1.5, load: 5)
            ],
            job: job(), knobs: SchedulerKnobs(evictionWeight: 1), expected: "A"),
        Case(
            testDescription: "without an eviction weight the plan changes nothing: the faster node wins",
            nodes: [
                node("A", resident: "b.safetensors", planned: "a.safetensors", speed: 1, load: 5),
                node("B", resident: "c.safetensors", planned: "c.safetensors", speed: 1.5, load: 5)
            ],
            job: job(), expected: "B"),
        Case(
            testDescription: "the recommended knobs hold a job for its full holder rather than load it elsewhere",
            nodes: [node("A", load: 20), node("B", outstanding: 2, resident: "a.safetensors", committed: 8, load: 20)],
            job: job(), knobs: .recommended, expected: nil),
        Case(
            testDescription: "a job does not wait for a slow holder while a faster idle holder exists",
            nodes: [
                node("fast", resident: "a.safetensors", load: 20),
                node("slow", outstanding: 2, resident: "a.safetensors", speed: 0.35, committed: 2, load: 20)
            ],
            job: job(work: 4), knobs: .recommended, expected: "fast"),
        Case(
            testDescription: "a job needing more VRAM than a node has goes elsewhere",
            nodes: [node("A", vramTotal: 8 << 30, speed: 4), node("B", vramTotal: 24 << 30)],
            job: job(vram: 12 << 30), expected: "B")
    ]

    @Test(arguments: routing)
    func jobLandsOnTheExpectedNode(_ test: Case) {
        let placement = Scheduler.place(test.job, on: test.nodes, knobs: test.knobs)
        #expect(placement.node == test.expected)
        #expect(placement.candidates.map(\.node) == test.nodes.map(\.name))
        let decision = Scheduler.decide(test.job, on: test.nodes, knobs: test.knobs)
        #expect(decision.node.map { test.nodes[$0].name } == test.expected)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let node: NodeSnapshot
        let job: JobRequirements
        let reason: String
        let capable: Bool
    }

    static let refusals: [Refusal] = [
        Refusal(testDescription: "down", node: node("X", health: .down), job: job(), reason: "down", capable: true),
        Refusal(testDescription: "suspect", node: node("X", health: .suspect), job: job(), reason: "suspect", capable: true),
        Refusal(testDescription: "draining", node: node("X", draining: true), job: job(), reason: "draining", capable: true),
        Refusal(testDescription: "full", node: node("X", outstanding: 2), job: job(), reason: "full (2/2)", capable: true),
        Refusal(
            testDescription: "missing class",
            node: node("X"), job: job(classes: classes.union(["AcceptanceWork"])),
            reason: "missing class AcceptanceWork", capable: false),
        Refusal(
            testDescription: "missing classes",
            node: node("X"), job: job(classes: ["UNETLoader", "AcceptanceWork", "KSampler"]),
            reason: "missing classes AcceptanceWork, UNETLoader", capable: false),
        Refusal(
            testDescription: "unknown combo value",
            node: node("X", checkpoints: ["b.safetensors"]), job: job("x.safetensors"),
            reason: "no ckpt_name 'x.safetensors'", capable: false),
        Refusal(
            testDescription: "not enough VRAM",
            node: node("X", vramTotal: 8 << 30), job: job(vram: 12 << 30),
            reason: "not enough VRAM (needs 12.0 GiB of 8.0 GiB)", capable: false)
    ]

    @Test(arguments: refusals)
    func ineligibleNodeIsNotChosenAndSaysWhy(_ test: Refusal) throws {
        // The refused node is the fastest and idle, so only the filter can keep the job off it.
        var bad = test.node
        bad.speed = 10
        let fleet = [bad, Self.node("ok", speed: 0.5)]
        let placement = Scheduler.place(test.job, on: fleet)
        let candidate = try #require(placement.candidates.first { $0.node == "X" })
        #expect(!candidate.eligible)
        #expect(candidate.reason == test.reason)
        #expect(placement.capableNodes.contains("X") == test.capable)
        if test.job.classTypes.isSubset(of: Self.classes) {
            #expect(placement.node == "ok")
        }
    }

    @Test func comboValuesTheNodeDoesNotDeclareAreNotChecked() {
        // The node lists checkpoints but not samplers, so any sampler name passes.
        var job = Self.job("a.safetensors")
        job.choices.append(.init(classType: "KSampler", input: "sampler_name", value: "brand_new_sampler"))
        let placement = Scheduler.place(job, on: [Self.node("A", checkpoints: ["a.safetensors"])])
        #expect(placement.node == "A")
    }

    @Test func capableNodesIsEmptyWhenNoNodeHasTheClass() {
        let job = Self.job(classes: ["AcceptanceWork"])
        let fleet = [Self.node("A"), Self.node("B", health: .down), Self.node("C", outstanding: 2)]
        let placement = Scheduler.place(job, on: fleet)
        #expect(placement.node == nil)
        #expect(placement.capableNodes.isEmpty)
        #expect(placement.candidates.allSatisfy { !$0.eligible })
        #expect(!fleet.contains { Scheduler.canRun(job, on: $0) })
    }

    @Test func fullAndDownNodesStayInCapableNodes() {
        let fleet = [Self.node("A", outstanding: 2), Self.node("B", health: .down), Self.node("C", draining: true)]
        let placement = Scheduler.place(Self.job(), on: fleet)
        #expect(placement.node == nil)
        #expect(placement.capableNodes == ["A", "B", "C"])
        #expect(placement.waitingFor == nil)
    }

    @Test func tiesBreakByNameWhateverTheNodeOrder() {
        let fleet = [Self.node("delta"), Self.node("alpha"), Self.node("charlie"), Self.node("bravo")]
        var orders = [fleet, fleet.reversed()]
        orders.append([fleet[2], fleet[0], fleet[3], fleet[1]])
        for order in orders {
            #expect(Scheduler.place(Self.job(), on: order).node == "alpha")
        }
    }

    @Test func eligibleReasonShowsTheFinishAndItsParts() throws {
        let placement = Scheduler.place(
            Self.job(work: 16.6), on: [Self.node("A", speed: 2, committed: 4, load: 3)])
        let candidate = try #require(placement.candidates.first)
        #expect(candidate.eligible)
        #expect(candidate.reason == "finish in 15.3 s (queue 4.0 + load 3.0 + run 8.3)")
        #expect(candidate.predictedFinishSeconds == 4 + 3 + 8.3)
        let weighted = Scheduler.place(
            Self.job(work: 16.6), on: [Self.node("A", speed: 2, committed: 4, load: 3)],
            knobs: SchedulerKnobs(startDelayWeight: 2))
        #expect(weighted.candidates.first?.reason == "finish in 15.3 s (queue 4.0 + load 3.0 + run 8.3), score 22.3")
    }

    @Test func heldJobNamesTheFullNodeItWaitsFor() {
        let fleet = [Self.node("A", load: 20), Self.node("B", outstanding: 2, resident: "a.safetensors", committed: 8)]
        let placement = Scheduler.place(Self.job(), on: fleet, knobs: SchedulerKnobs(waitForFullNodeGainSeconds: 5))
        #expect(placement.node == nil)
        #expect(placement.waitingFor == "B")
        #expect(placement.candidates[1].predictedFinishSeconds == 18)
    }

    @Test func predictedFinishAddsLoadOnlyWhenTheCheckpointIsNotResident() {
        let job = Self.job("a.safetensors", work: 12)
        let cold = Scheduler.predictedFinish(job, on: Self.node("A", speed: 3, committed: 2, load: 7))
        #expect(cold.queue == 2 && cold.load == 7 && cold.run == 4)
        let warm = Scheduler.predictedFinish(job, on: Self.node("A", resident: "a.safetensors", speed: 3, load: 7))
        #expect(warm.queue == 0 && warm.load == 0 && warm.run == 4)
        let none = Scheduler.predictedFinish(Self.job(nil), on: Self.node("A", load: 7))
        #expect(none.load == 0)
    }

    @Test func committingAJobFillsTheNodeAndMakesItsCheckpointResident() {
        let node = Self.node("A", speed: 2, committed: 1, load: 3).committing(Self.job("a.safetensors", work: 10))
        #expect(node.outstanding == 1)
        #expect(node.committedSeconds == 9)
        #expect(node.residentCheckpoint == "a.safetensors")
        // A second job for the same checkpoint queues behind the first, without a load.
        #expect(Scheduler.predictedFinish(Self.job("a.safetensors", work: 10), on: node) == (9, 0, 5))
    }

    @Test func knobsMissingFromConfigKeepTheRecommendedValues() throws {
        // One parser (cluster.json's, which `conductor bench --knobs` uses too): the keys given replace the recommended ones.
        let knobs = try ClusterConfig.knobs(JSONValue(parsing: #"{"affinitySlackSeconds": 1.5}"#))
        #expect(knobs.affinitySlackSeconds == 1.5)
        #expect(knobs.startDelayWeight == SchedulerKnobs.recommended.startDelayWeight)
        #expect(knobs.evictionWeight == SchedulerKnobs.recommended.evictionWeight)
        #expect(knobs.waitForFullNodeGainSeconds == SchedulerKnobs.recommended.waitForFullNodeGainSeconds)
        #expect(try ClusterConfig.knobs(JSONValue(parsing: "{}")) == .recommended)
    }

    // MARK: Files

    static func withFile(_ job: JobRequirements, bytes: Int64 = 2_000_000_000) -> JobRequirements {
        var job = job
        job.files = [.init(id: "sha-input", bytes: bytes)]
        return job
    }

    static func node(_ node: NodeSnapshot, holding ids: Set<String> = [], bandwidth: Double = 100e6) -> NodeSnapshot {
        var node = node
        node.heldFiles = ids
        node.transferBytesPerSecond = bandwidth
        return node
    }

    @Test func aNodeThatHoldsTheJobsInputWinsOverOneThatWouldReceiveIt() {
        // 2 GB at 100 MB/s is 20 s of transfer: more than A's 5 s of queue.
        let nodes = [Self.node(Self.node("A", committed: 5), holding: ["sha-input"]), Self.node(Self.node("B"))]
        let placement = Scheduler.place(Self.withFile(Self.job(nil)), on: nodes)
        #expect(placement.node == "A")
        #expect(placement.candidates.first { $0.node == "B" }?.predictedFinishSeconds == 30)
        #expect(placement.candidates.first { $0.node == "B" }?.reason.contains("transfer 20.0") == true)
        // A small file is not worth waiting for: B starts at once.
        #expect(Scheduler.place(Self.withFile(Self.job(nil), bytes: 1_000_000), on: nodes).node == "B")
    }

    @Test func transferCostComesAfterCapabilityAndVRAM() {
        // The node holding the file cannot run the job: the file does not make it eligible.
        let nodes = [
            Self.node(Self.node("A", classes: ["SaveImage"]), holding: ["sha-input"]),
            Self.node(Self.node("B", vramTotal: 4 << 30), holding: ["sha-input"]),
            Self.node(Self.node("C"))
        ]
        #expect(Scheduler.place(Self.withFile(Self.job(nil, vram: 8 << 30)), on: nodes).node == "C")
    }

    @Test func theTransferOverlapsTheNodesCommittedWork() {
        let node = Self.node(Self.node("B", committed: 25))
        #expect(Scheduler.predictedFinish(Self.withFile(Self.job(nil)), on: node) == (25, 0, 10))
        // Once committed, the node holds the file for the next job.
        #expect(node.committing(Self.withFile(Self.job(nil))).heldFiles == ["sha-input"])
    }
}

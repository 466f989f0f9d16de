import ConductorCore
import Testing

/// A dispatch round over a queue: what `Scheduler.assign` hands the dispatcher.
@Suite struct SchedulerAssignTests {
    typealias Fleet = SchedulerPlacementTests

    @Test func roundFillsFreeSlotsInQueueOrderAndStopsWhenTheFleetIsFull() {
        let fleet = [Fleet.node("A", maxOutstanding: 1), Fleet.node("B", maxOutstanding: 1)]
        let queue = [Fleet.job(nil), Fleet.job(nil), Fleet.job(nil)]
        let assignments = Scheduler.assign(queue, to: fleet)
        #expect(assignments == [.init(job: 0, node: 0), .init(job: 1, node: 1)])
    }

    @Test func eachAssignmentCountsAgainstItsNodeForTheNextJob() {
        // A holds the checkpoint; the second job would queue 10 s behind the first there, so B's load is sooner.
        let fleet = [Fleet.node("A", resident: "a.safetensors", load: 5), Fleet.node("B", load: 5)]
        let queue = [Fleet.job(work: 10), Fleet.job(work: 10)]
        #expect(Scheduler.assign(queue, to: fleet) == [.init(job: 0, node: 0), .init(job: 1, node: 1)])
    }

    @Test func jobsHeldForTheSameFullNodeReserveItSoLaterOnesUseTheIdleNode() {
        let fleet = [
            Fleet.node("A", load: 20),
            Fleet.node("B", outstanding: 2, resident: "a.safetensors", committed: 8, load: 20)
        ]
        // B finishes them at 18 and 28; the third would finish at 38 there and 30 on A.
        let queue = [Fleet.job(), Fleet.job(), Fleet.job()]
        let knobs = SchedulerKnobs(waitForFullNodeGainSeconds: 0)
        #expect(Scheduler.assign(queue, to: fleet, knobs: knobs) == [.init(job: 2, node: 0)])
    }

    @Test func aNodeIsSparedForLaterQueuedJobsOfItsCheckpoint() {
        // A holds b and has room; B holds a and is busy. The oldest job is for a, the next for b.
        let fleet = [
            Fleet.node("A", maxOutstanding: 1, resident: "b.safetensors", load: 4),
            Fleet.node("B", outstanding: 1, maxOutstanding: 1, resident: "a.safetensors", committed: 30, load: 4)
        ]
        let queue = [Fleet.job("a.safetensors", work: 4), Fleet.job("b.safetensors", work: 4)]
        // Plain predicted finish: the a job loads on A (8 s, not 34 s on B), and the b job finds A taken.
        #expect(Scheduler.assign(queue, to: fleet, knobs: SchedulerKnobs(waitForFullNodeGainSeconds: 0)) == [.init(job: 0, node: 0)])
        // With eviction weight 5 the a job scores 8 + 5 × 4 = 28 on A (a load its plan did not ask for) against 34 on
        // B, and 5 × 4 more while the b job, which wants A's checkpoint, is queued behind it: it waits for B.
        let kept = SchedulerKnobs(evictionWeight: 5, waitForFullNodeGainSeconds: 0)
        #expect(Scheduler.assign(queue, to: fleet, knobs: kept) == [.init(job: 1, node: 0)])
        // Alone in the queue, the a job may load on A after all.
        #expect(Scheduler.assign([queue[0]], to: fleet, knobs: kept) == [.init(job: 0, node: 0)])
        #expect(Scheduler.place(queue[0], on: fleet, knobs: kept).node == "A")
        let explained = Scheduler.place(queue[0], on: fleet, knobs: kept, waitingBehind: ["b.safetensors": 1])
        #expect(explained.node == nil && explained.waitingFor == "B")
        #expect(explained.candidates.first?.reason.hasSuffix("; queued jobs want its b.safetensors") == true)
    }

    /// Work-conserving: the same fleet as `jobsHeldForTheSameFullNodeReserveItSoLaterOnesUseTheIdleNode`, where B
    /// (full, holding the checkpoint) is predicted to finish the first two jobs sooner than idle A would.
    @Test func aJobWaitsForABusierNodeOnlyOnTrustedEvidence() {
        func fleet(aMeasured: Bool = true, bMeasured: Bool = true) -> [NodeSnapshot] {
            var a = Fleet.node("A", load: 20)
            var b = Fleet.node("B", outstanding: 2, resident: "a.safetensors", committed: 8, load: 20)
            a.speedMeasured = aMeasured
            b.speedMeasured = bMeasured
            return [a, b]
        }
        let knobs = SchedulerKnobs(waitForFullNodeGainSeconds: 0)
        var holds: [(Int, Scheduler.Decision)] = []
        // Both measured, predictions exact: the first job waits for B (18 s there against 30 s on A), and says so.
        let exact = Scheduler.assign([Fleet.job()], to: fleet(), knobs: knobs) { holds.append(($0, $1)) }
        #expect(exact.isEmpty)
        #expect(holds.count == 1 && holds.first?.1.waitingFor == 1 && holds.first?.1.passedOver == 0)
        #expect(holds.first?.1.predictedGain == 12)
        // An unmeasured node is never the reason to wait, nor left idle because another looks faster on paper.
        #expect(Scheduler.assign([Fleet.job()], to: fleet(bMeasured: false), knobs: knobs) == [.init(job: 0, node: 0)])
        #expect(Scheduler.assign([Fleet.job()], to: fleet(aMeasured: false), knobs: knobs) == [.init(job: 0, node: 0)])
        // A 12 s lead on an 18 s prediction is trusted while the shape's error is under 2/3, not beyond.
        var job = Fleet.job()
        job.runTimeError = 0.5
        #expect(Scheduler.assign([job], to: fleet(), knobs: knobs).isEmpty)
        job.runTimeError = 1
        #expect(Scheduler.assign([job], to: fleet(), knobs: knobs) == [.init(job: 0, node: 0)])
    }

    @Test func lookaheadBoundsHowFarARoundLooks() {
        let fleet = [Fleet.node("A", classes: ["KSampler"])]
        let queue = [Fleet.job(), Fleet.job(), Fleet.job(nil, classes: ["KSampler"])]
        #expect(Scheduler.assign(queue, to: fleet) == [.init(job: 2, node: 0)])
        #expect(Scheduler.assign(queue, to: fleet, lookahead: 2).isEmpty)
    }

    @Test func downAndDrainingNodesDoNotKeepARoundGoing() {
        let fleet = [Fleet.node("A", health: .down), Fleet.node("B", draining: true)]
        #expect(Scheduler.assign([Fleet.job(), Fleet.job()], to: fleet).isEmpty)
    }
}

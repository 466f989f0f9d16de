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
            Fleet.node("B", outstanding: 2, resident: "a.safetensors", committed: 8, load: 20),
        ]
        // B finishes them at 18 and 28; the third would finish at 38 there and 30 on A.
        let queue = [Fleet.job(), Fleet.job(), Fleet.job()]
        let knobs = SchedulerKnobs(waitForFullNodeGainSeconds: 0)
        #expect(Scheduler.assign(queue, to: fleet, knobs: knobs) == [.init(job: 2, node: 0)])
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

import ComfyWire
import ConductorCore
import Testing

/// What a node's `/queue` and the clock say about Conductor's jobs there, as plain values (seconds).
@Suite struct JobWatchTests {
    static let prefix = "conductor-abc-"

    static func item(_ id: String, client: String = "conductor-abc-a") -> QueueItem {
        QueueItem(number: JSONNumber(1), promptID: id, prompt: [:], extraData: ["client_id": .string(client)], outputsToExecute: [])
    }

    @Test func aWaitingJobTheNodeRunsIsStartedAndAJobItNoLongerHasIsGone() {
        let jobs = [
            JobWatch.OnNode(id: "1", running: false, postedAt: 0), JobWatch.OnNode(id: "2", running: true, postedAt: 0),
            JobWatch.OnNode(id: "3", running: false, postedAt: 0)
        ]
        let queue = QueueStatus(running: [Self.item("1")], pending: [Self.item("3")])
        let verdict = JobWatch.reconcile(queue, jobs: jobs, askedAt: 10, clientPrefix: Self.prefix) { ["1", "2", "3"].contains($0) }
        #expect(verdict.started == ["1"])
        #expect(verdict.gone == ["2"], "2 ran and left the queue: its history says how it ended")
        #expect(verdict.unexpectedRunning.isEmpty && verdict.unexpectedWaiting.isEmpty)
    }

    @Test func aJobPostedJustBeforeTheQueueWasAskedOrNotPostedYetIsNotGone() {
        let jobs = [JobWatch.OnNode(id: "late", running: false, postedAt: 9), JobWatch.OnNode(id: "delivering", running: false, postedAt: nil)]
        let verdict = JobWatch.reconcile(QueueStatus(), jobs: jobs, askedAt: 10, clientPrefix: Self.prefix) { _ in true }
        #expect(verdict.gone.isEmpty)
        // A node that restarted forgot a job posted long before: gone (history will not know it: requeued).
        let forgotten = JobWatch.reconcile(QueueStatus(), jobs: [jobs[0]], askedAt: 12, clientPrefix: Self.prefix) { _ in true }
        #expect(forgotten.gone == ["late"])
    }

    @Test func promptsOfThisConductorThatAreNotItsJobsThereAreRemovedOthersLeftAlone() {
        let queue = QueueStatus(
            running: [Self.item("moved")],
            pending: [
                Self.item("cancelled"), Self.item("mine"), Self.item("someone", client: "a-browser"),
                Self.item("other-conductor", client: "conductor-xyz-a")
            ])
        let verdict = JobWatch.reconcile(
            queue, jobs: [.init(id: "mine", running: false, postedAt: 0)], askedAt: 1,
            clientPrefix: Self.prefix
        ) { $0 == "mine" }
        #expect(verdict.unexpectedRunning == ["moved"])
        #expect(verdict.unexpectedWaiting == ["cancelled"])
    }

    @Test func aJobIsOverrunPastItsMultipleOfThePredictionAndTheFloor() {
        var limits = ClusterConfig.Limits()
        limits.runTimeMultiple = 5
        limits.runTimeFloorSeconds = 30
        let jobs = [
            JobWatch.Running(id: "short", startedAt: 0, predictedSeconds: 2),  // limit: the floor, 30 s
            JobWatch.Running(id: "long", startedAt: 0, predictedSeconds: 20),  // limit: 100 s
            JobWatch.Running(id: "unknown", startedAt: 0, predictedSeconds: nil)
        ]
        #expect(JobWatch.overrun(jobs, at: 30, limits: limits).isEmpty)
        #expect(JobWatch.overrun(jobs, at: 31, limits: limits) == ["short", "unknown"])
        #expect(JobWatch.overrun(jobs, at: 101, limits: limits) == ["short", "long", "unknown"])
    }
}

extension Scheduler {
    /// Whether a node takes new work now, before asking whether it can run the job.
    enum Status: Hashable {
        case unhealthy, draining, full, room
    }

    /// What scoring a node for one job needs; cheap, so every node gets one.
    struct Assessment {
        var status: Status
        /// Whether the node already holds the job's checkpoint.
        var holdsCheckpoint: Bool
        /// Predicted finish, meaningful for `.full` and `.room`.
        var finish: Double
        /// What nodes are compared by: the finish with queue and load weighted by `startDelayWeight`, plus any
        /// eviction penalty.
        var score: Double
        /// Whether jobs later in the queue want the checkpoint the node holds (see `SchedulerKnobs.evictionWeight`).
        var wantedByQueue = false
    }

    /// The job-independent facts scoring needs: which checkpoint each node holds and is planned for, as small
    /// integers, so a decision compares no strings.
    struct FleetView {
        private(set) var checkpointIDs: [String: Int] = [:]
        /// Per node: id of its resident checkpoint, or -1.
        private(set) var residentIDs: [Int]
        /// Per node: id of its planned checkpoint, or -1.
        private(set) var plannedIDs: [Int]
        /// Per checkpoint id: jobs of the round's queue not placed yet (none when one job is decided alone).
        private(set) var waiting: [Int] = []
        /// Per checkpoint id: nodes that take work and hold it.
        private(set) var holders: [Int] = []
        /// Per node: whether it takes work (up, not draining).
        private let working: [Bool]

        /// - Parameter waiting: jobs queued behind the one being decided, per checkpoint.
        init(_ nodes: [NodeSnapshot], waiting counts: [String: Int] = [:]) {
            residentIDs = Array(repeating: -1, count: nodes.count)
            plannedIDs = Array(repeating: -1, count: nodes.count)
            working = nodes.map { $0.health == .up && !$0.draining }
            for index in nodes.indices {
                if let resident = nodes[index].residentCheckpoint {
                    residentIDs[index] = intern(resident)
                    if working[index] { holders[residentIDs[index]] += 1 }
                }
                if let planned = nodes[index].plannedCheckpoint { plannedIDs[index] = intern(planned) }
            }
            for (checkpoint, count) in counts { waiting[intern(checkpoint)] += max(0, count) }
        }

        /// Counts a job of the round's queue as waiting; returns its checkpoint id (-1 = none), so the round hashes each
        /// checkpoint name once.
        mutating func enqueue(_ job: JobRequirements) -> Int {
            guard let checkpoint = job.checkpoint else { return -1 }
            let id = intern(checkpoint)
            waiting[id] += 1
            return id
        }

        /// A job of the round's queue is being decided: it no longer waits.
        mutating func dequeue(_ id: Int) {
            if id >= 0, waiting[id] > 0 { waiting[id] -= 1 }
        }

        /// The id of a checkpoint no node holds or is planned for is -2, so it never matches one.
        func id(of checkpoint: String?) -> Int {
            guard let checkpoint else { return -1 }
            return checkpointIDs[checkpoint] ?? -2
        }

        /// Records that `node` will hold `checkpoint` after the job just committed to it.
        mutating func node(_ index: Int, willHold checkpoint: String?) {
            guard let checkpoint else { return }
            let id = intern(checkpoint)
            if working[index], residentIDs[index] != id {
                if residentIDs[index] >= 0 { holders[residentIDs[index]] -= 1 }
                holders[id] += 1
            }
            residentIDs[index] = id
        }

        private mutating func intern(_ checkpoint: String) -> Int {
            if let id = checkpointIDs[checkpoint] { return id }
            let id = checkpointIDs.count
            checkpointIDs[checkpoint] = id
            waiting.append(0)
            holders.append(0)
            return id
        }
    }

    /// - Parameter checkpointID: the job's checkpoint id in `view`, when the caller has it already.
    static func assess(
        _ job: JobRequirements, on nodes: [NodeSnapshot], view: FleetView, knobs: SchedulerKnobs, checkpointID: Int? = nil
    ) -> [Assessment] {
        let weight = knobs.startDelayWeight > 1 && knobs.startDelayWeight.isFinite ? knobs.startDelayWeight : 1
        let eviction = knobs.evictionWeight > 0 && knobs.evictionWeight.isFinite ? knobs.evictionWeight : 0
        let checkpoint = checkpointID ?? view.id(of: job.checkpoint)
        var assessments: [Assessment] = []
        assessments.reserveCapacity(nodes.count)
        for index in nodes.indices {
            let status: Status =
                if nodes[index].health != .up { .unhealthy } else if nodes[index].draining {
                    .draining
                } else if nodes[index].outstanding >= nodes[index].maxOutstanding { .full } else { .room }
            let resident = view.residentIDs[index]
            let holds = checkpoint != -1 && resident == checkpoint
            guard status == .room || status == .full else {
                assessments.append(Assessment(status: status, holdsCheckpoint: holds, finish: 0, score: 0))
                continue
            }
            let queue = max(nonNegative(nodes[index].committedSeconds), transferSeconds(job, to: nodes[index]))
            let load = checkpoint != -1 && !holds ? nonNegative(nodes[index].checkpointLoadSeconds) : 0
            let run = runSeconds(job.work, speed: nodes[index].speed)
            let finish = queue + load + run
            var score = weight == 1 ? finish : weight * (queue + load) + run
            var wanted = false
            if eviction > 0, checkpoint != -1, resident >= 0, !holds {
                if view.plannedIDs[index] != checkpoint {
                    // Evicting a checkpoint for one the plan did not give this node: its jobs will pay a load back.
                    score += eviction * load
                }
                if checkpoint >= 0, view.waiting[resident] > 0, view.holders[checkpoint] > 0 {
                    // Jobs later in the queue want the checkpoint this node holds, and this job has holders of its
                    // own: the node is spared for them unless waiting for a holder costs more.
                    wanted = true
                    score += eviction * load
                }
            }
            assessments.append(
                Assessment(status: status, holdsCheckpoint: holds, finish: finish, score: score, wantedByQueue: wanted))
        }
        return assessments
    }

    static func runSeconds(_ work: Double, speed: Double) -> Double {
        let run = speed > 0 ? nonNegative(work) / speed : .infinity
        return run.isNaN ? .infinity : run
    }
}

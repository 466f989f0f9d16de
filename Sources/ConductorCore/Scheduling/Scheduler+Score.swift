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
    }

    /// The job-independent facts scoring needs: which checkpoint each node holds (as small integers, so a decision
    /// compares no strings) and how much speed holds each checkpoint among nodes that take work.
    struct FleetView {
        private(set) var checkpointIDs: [String: Int] = [:]
        /// Per node: id of its resident checkpoint, or -1.
        private(set) var residentIDs: [Int]
        /// Per checkpoint id: summed speed of the up, non-draining nodes holding it.
        private(set) var holderSpeed: [Double] = []

        init(_ nodes: [NodeSnapshot]) {
            residentIDs = Array(repeating: -1, count: nodes.count)
            for index in nodes.indices {
                guard let resident = nodes[index].residentCheckpoint else { continue }
                let id = intern(resident)
                residentIDs[index] = id
                if nodes[index].health == .up && !nodes[index].draining {
                    holderSpeed[id] += nonNegative(nodes[index].speed)
                }
            }
        }

        /// The id of a checkpoint no node holds is -2, so it never matches a resident one.
        func id(of checkpoint: String?) -> Int {
            guard let checkpoint else { return -1 }
            return checkpointIDs[checkpoint] ?? -2
        }

        /// Records that `node` (which takes work) will hold `checkpoint` after the job just committed to it.
        mutating func node(_ index: Int, willHold checkpoint: String?, speed: Double) {
            guard let checkpoint else { return }
            let id = intern(checkpoint)
            let old = residentIDs[index]
            guard old != id else { return }
            if old >= 0 { holderSpeed[old] -= nonNegative(speed) }
            holderSpeed[id] += nonNegative(speed)
            residentIDs[index] = id
        }

        private mutating func intern(_ checkpoint: String) -> Int {
            if let id = checkpointIDs[checkpoint] { return id }
            let id = holderSpeed.count
            checkpointIDs[checkpoint] = id
            holderSpeed.append(0)
            return id
        }
    }

    static func assess(
        _ job: JobRequirements, on nodes: [NodeSnapshot], view: FleetView, knobs: SchedulerKnobs
    ) -> [Assessment] {
        let weight = knobs.startDelayWeight > 1 && knobs.startDelayWeight.isFinite ? knobs.startDelayWeight : 1
        let eviction = knobs.evictionWeight > 0 && knobs.evictionWeight.isFinite ? knobs.evictionWeight : 0
        let checkpoint = view.id(of: job.checkpoint)
        var assessments: [Assessment] = []
        assessments.reserveCapacity(nodes.count)
        for index in nodes.indices {
            let status: Status =
                if nodes[index].health != .up { .unhealthy }
                else if nodes[index].draining { .draining }
                else if nodes[index].outstanding >= nodes[index].maxOutstanding { .full }
                else { .room }
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
            if eviction > 0, checkpoint != -1, resident >= 0, !holds, view.holderSpeed[resident] > 0 {
                // Evicting one of few holders costs that checkpoint's next jobs a load elsewhere.
                let share = min(1, nonNegative(nodes[index].speed) / view.holderSpeed[resident])
                if share > 0 { score += eviction * load * share }
            }
            assessments.append(Assessment(status: status, holdsCheckpoint: holds, finish: finish, score: score))
        }
        return assessments
    }

    static func runSeconds(_ work: Double, speed: Double) -> Double {
        let run = speed > 0 ? nonNegative(work) / speed : .infinity
        return run.isNaN ? .infinity : run
    }
}

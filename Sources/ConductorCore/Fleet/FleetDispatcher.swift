import ComfyWire

/// The fleet's dispatch decisions as plain values: the fair shares of the fleet queue, the checkpoint plan, what was
/// learned of run times and VRAM, and the round that places waiting jobs on nodes with room (late binding).
///
/// The coordinator and the benchmark simulation both run it, the server with its nodes and jobs, the simulation
/// with virtual ones, so a benchmark figure is a figure of the product. It reads no clock (times are seconds on the
/// caller's clock) and does no I/O: the caller sends what a round assigns.
public struct FleetDispatcher: Sendable {
    public let knobs: SchedulerKnobs
    /// The retry budget: jobs run again after losing their node may be at most this share of the jobs on nodes…
    public var retryBudgetFraction: Double
    /// …and at least this many.
    public var minRetryConcurrency: Int
    /// The clients' fair shares of the fleet: stamps waiting jobs, advanced as jobs go to nodes.
    public var fairShare = FairShare()
    /// The work asked for per checkpoint over the last minutes (see `CheckpointPlan`).
    public var demand = CheckpointDemand()
    /// The checkpoint planned for each node, by name.
    public var plan: [String: String] = [:]
    /// Run time per workflow shape beyond what a prompt's work says, learned from completed jobs.
    public var runTimes = RunTimeModel()
    /// VRAM (bytes) a checkpoint was seen to need: more than a node that ran out of memory with it had.
    public var vramNeeds: [String: Int64] = [:]

    public init(knobs: SchedulerKnobs, retryBudgetFraction: Double = 1, minRetryConcurrency: Int = .max) {
        self.knobs = knobs
        self.retryBudgetFraction = retryBudgetFraction
        self.minRetryConcurrency = minRetryConcurrency
    }

    /// A job waiting in the fleet queue.
    public struct Waiting: Sendable {
        public var requirements: JobRequirements
        /// Its virtual start among the fair shares (`enqueue`).
        public var stamp: Double
        /// Sent with `front`: ahead of every share.
        public var isFront: Bool
        /// Times it was lost with its node: a re-run counts against the retry budget.
        public var nodeFailures: Int

        public init(requirements: JobRequirements, stamp: Double, isFront: Bool = false, nodeFailures: Int = 0) {
            self.requirements = requirements
            self.stamp = stamp
            self.isFront = isFront
            self.nodeFailures = nodeFailures
        }
    }

    /// A job on a node.
    public struct Outstanding: Sendable {
        public var requirements: JobRequirements
        /// When it started running (seconds on the caller's clock); nil while it waits on the node.
        public var startedAt: Double?
        public var nodeFailures: Int

        public init(requirements: JobRequirements, startedAt: Double? = nil, nodeFailures: Int = 0) {
            self.requirements = requirements
            self.startedAt = startedAt
            self.nodeFailures = nodeFailures
        }
    }

    /// A node as a round sees it: its state (no jobs counted in `snapshot`) and its jobs in the order it runs them,
    /// the running one first.
    public struct NodeView: Sendable {
        public var snapshot: NodeSnapshot
        public var outstanding: [Outstanding]

        public init(snapshot: NodeSnapshot, outstanding: [Outstanding]) {
            self.snapshot = snapshot
            self.outstanding = outstanding
        }
    }

    /// What one round decided.
    public struct Round: Sendable {
        /// Each placement: `job` indexes the `waiting` array given, `node` the nodes.
        public var assignments: [Scheduler.Assignment] = []
        /// Jobs (indexes into `waiting`) held back for a busier node while another node had room, with the decision.
        public var holds: [(job: Int, decision: Scheduler.Decision)] = []
        /// The nodes as the round saw them before its placements (planned checkpoints marked).
        public var snapshots: [NodeSnapshot] = []
    }

    /// Stamps a job entering the queue among the fair shares and counts its checkpoint's demand; returns the stamp.
    public mutating func enqueue(client: String, work: Double, weight: Double = 1, checkpoint: String?, at now: Double) -> Double {
        demand.record(checkpoint: checkpoint, work: work, at: now)
        return fairShare.stamp(client: client, work: work, weight: weight)
    }

    /// A job's requirements with its work scaled by what its workflow shape was seen to take, which is what run times
    /// are predicted from. A shape never measured is taken as 100 % uncertain (no busier node is waited for on its
    /// account), unless the caller set the error itself (the simulation knows each job's work: 0).
    public func learnedRunTime(_ requirements: JobRequirements) -> JobRequirements {
        var learned = requirements
        learned.work = requirements.work * runTimes.factor(of: requirements.shape)
        learned.runTimeError = runTimes.relativeError(of: requirements.shape) ?? requirements.runTimeError ?? 1
        return learned
    }

    /// A job's requirements with the VRAM its checkpoint was seen to need.
    public func learnedVRAM(_ requirements: JobRequirements) -> JobRequirements {
        guard let checkpoint = requirements.checkpoint, let need = vramNeeds[checkpoint] else { return requirements }
        var learned = requirements
        learned.vramNeeded = max(requirements.vramNeeded ?? 0, need)
        return learned
    }

    /// What the scheduler sees of a node at `now`: its jobs replayed in order (loads included), less what the running
    /// one has done; a job running past its prediction is taken to need as long again as it has overrun (so a job a
    /// little late looks nearly done, and a stuck one ever busier).
    public func snapshot(of node: NodeView, at now: Double) -> NodeSnapshot {
        var snapshot = node.snapshot
        for job in node.outstanding {
            let before = snapshot.committedSeconds
            snapshot = snapshot.committing(learnedRunTime(job.requirements))
            if let started = job.startedAt {
                let predicted = snapshot.committedSeconds - before
                snapshot.committedSeconds = before + abs(predicted - (now - started))
            }
        }
        return snapshot
    }

    /// The waiting jobs a round may place: every first try, and as many jobs run again after losing their node as the
    /// retry budget leaves (`retryBudgetFraction` of the jobs on nodes, at least `minRetryConcurrency`, less the
    /// re-runs already on nodes), in queue order. Indexes into `waiting`.
    public func withinRetryBudget(_ waiting: [Waiting], nodes: [NodeView]) -> [Int] {
        let onNodes = nodes.reduce(0) { $0 + $1.outstanding.count }
        let rerunning = nodes.reduce(0) { $0 + $1.outstanding.count { $0.nodeFailures > 0 } }
        let budget = max(minRetryConcurrency, Int(retryBudgetFraction * Double(onNodes)))
        var left = budget - rerunning
        return waiting.indices.filter { index in
            guard waiting[index].nodeFailures > 0 else { return true }
            left -= 1
            return left >= 0
        }
    }

    /// Whether some node is up, not draining and has room.
    public static func anyTakesWork(_ nodes: [NodeView]) -> Bool {
        nodes.contains { $0.snapshot.health == .up && !$0.snapshot.draining && $0.outstanding.count < $0.snapshot.maxOutstanding }
    }

    /// One round at `now`: `waiting` in queue order (`front` jobs and the fair shares reorder it), `nodes` in the
    /// fleet's order. The plan moves on to the demand of the last minutes and the shares advance for each placement;
    /// the caller sends the assigned jobs.
    public mutating func round(waiting: [Waiting], nodes: [NodeView], at now: Double, explain: Bool = false) -> Round {
        var round = Round()
        var snapshots = nodes.map { snapshot(of: $0, at: now) }
        round.snapshots = snapshots
        // With every node full (or down, or drained) nothing can be placed: the queue is not even ordered.
        guard Self.anyTakesWork(nodes) else { return round }
        let eligible = withinRetryBudget(waiting, nodes: nodes)
        let offered = FairShare.order(eligible.map { (waiting[$0].isFront, waiting[$0].stamp) }).map { eligible[$0] }
        guard !offered.isEmpty else { return round }
        let planned = CheckpointPlan.plan(snapshots, previous: plan, demand: demand.rates(at: now))
        plan = [:]
        for index in snapshots.indices {
            snapshots[index].plannedCheckpoint = planned[index]
            if let checkpoint = planned[index] { plan[snapshots[index].name] = checkpoint }
        }
        round.snapshots = snapshots
        let requirements = offered.map { learnedRunTime(learnedVRAM(waiting[$0].requirements)) }
        var holds: [(job: Int, decision: Scheduler.Decision)] = []
        let assignments = Scheduler.assign(requirements, to: snapshots, knobs: knobs, explain: explain) { holds.append(($0, $1)) }
        round.holds = holds.map { (offered[$0.job], $0.decision) }
        round.assignments = assignments.map { assignment in
            var placed = assignment
            placed.job = offered[assignment.job]
            fairShare.dispatched(stamp: waiting[placed.job].stamp, front: waiting[placed.job].isFront)
            return placed
        }
        return round
    }

    /// What Conductor has learned of one node's GPU.
    public struct NodeLearning: Sendable, Hashable {
        public var speed: SpeedEstimate
        /// Seconds a checkpoint load takes there.
        public var loadSeconds: LoadTimeEstimate
        /// The checkpoint the node last finished a job with, so (as far as Conductor knows) holds in VRAM.
        public var loadedCheckpoint: String?

        public init(speed: SpeedEstimate, loadSeconds: LoadTimeEstimate, loadedCheckpoint: String? = nil) {
            self.speed = speed
            self.loadSeconds = loadSeconds
            self.loadedCheckpoint = loadedCheckpoint
        }
    }

    /// A sampler run shorter than this did no work worth learning from (a cached or degenerate job; the fastest
    /// one-step sampling on a GPU takes longer), and node timestamps are whole milliseconds.
    public static let shortestTeachingRunSeconds = 0.02

    /// Learns from a finished run of a job on a node: the node's speed and load time, the job's workflow shape
    /// (`runTimes`) and the node's resident checkpoint. `assumedSpeed` is the speed the scheduler used for the node
    /// (its own once measured, else the fleet's typical node).
    ///
    /// Speeds mean the same on every node: a shape's factor is set by its first job at the assumed speed, and a node's
    /// speed learns only from shapes already measured, so it is measured against what other jobs of the same shape
    /// took. What did no real work teaches nothing: a failed or interrupted run, a sampler served from ComfyUI's
    /// cache, a run shorter than `shortestTeachingRunSeconds`. A workflow without a sampler (its work is the 1-unit
    /// floor) teaches its shape what it takes, never a node's speed. A job that loaded its checkpoint (as far as
    /// Conductor knows) teaches the load time, not the speed: otherwise every swap would make the node look slower.
    public mutating func learn(from entry: HistoryEntry, of job: JobRequirements, on node: inout NodeLearning, assumedSpeed: Double) {
        guard entry.status?.statusStr == "success" else { return }
        let checkpoint = job.checkpoint
        defer { if let checkpoint { node.loadedCheckpoint = checkpoint } }
        let messages = entry.status?.messages ?? []
        let start = messages.first { $0.event == "execution_start" }?.data["timestamp"]?.numberValue?.int64
        let end = messages.last { $0.event == "execution_success" }?.data["timestamp"]?.numberValue?.int64
        guard let start, let end, end > start else { return }
        let seconds = Double(end - start) / 1000
        let cached = Set(messages.filter { $0.event == "execution_cached" }.flatMap { $0.data["nodes"]?.arrayValue?.compactMap(\.stringValue) ?? [] })
        let samplers = job.samplerNodes
        guard seconds >= Self.shortestTeachingRunSeconds, cached.isDisjoint(with: samplers) else { return }
        let shape = job.shape
        if let checkpoint, checkpoint != node.loadedCheckpoint {
            guard !samplers.isEmpty, runTimes.samples(of: shape) > 0 else { return }
            let learnedWork = job.work * runTimes.factor(of: shape)
            node.loadSeconds.record(max(0, seconds - learnedWork / assumedSpeed))
        } else if let shape {
            let known = runTimes.samples(of: shape) > 0
            // The shape learns what its work takes at the assumed speed; the node's speed then learns from the work so
            // corrected, when the shape was known before this job and the job really sampled.
            if let work = runTimes.record(shape: shape, work: job.work, speed: assumedSpeed, seconds: seconds), known, !samplers.isEmpty {
                node.speed.record(work: work, seconds: seconds, prior: assumedSpeed)
            }
        }
    }

    /// Each node's speed as the scheduler uses it: its own learned speed once a job measured it; before that the
    /// fleet's typical measured node (the median of measured ÷ declared, times this node's declared speed), so a node
    /// nobody measured yet is neither a slowpoke nor a champion on paper. With nothing measured, the declared speeds.
    public static func effectiveSpeeds(_ nodes: [(name: String, speed: SpeedEstimate, declared: Double)]) -> [String: Double] {
        var ratios = nodes.filter { $0.speed.samples > 0 && $0.declared > 0 }.map { $0.speed.unitsPerSecond / $0.declared }
        ratios.sort()
        let typical = ratios.isEmpty ? nil : ratios[ratios.count / 2]
        var speeds: [String: Double] = [:]
        for node in nodes {
            if let typical, node.speed.samples == 0, node.declared > 0 {
                speeds[node.name] = typical * node.declared
            } else {
                speeds[node.name] = node.speed.unitsPerSecond
            }
        }
        return speeds
    }
}

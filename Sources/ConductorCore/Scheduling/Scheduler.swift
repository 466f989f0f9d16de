/// Places one job on a fleet: filter the nodes that can take it now, score them by predicted finish, pick.
///
/// Pure and deterministic: the same job and snapshots give the same answer whatever the order of the nodes
/// (ties are broken by checkpoint affinity, then speed, then node name). With the default knobs the score is the
/// predicted finish; see `SchedulerKnobs` for the weights that bend it.
public enum Scheduler {
    /// A decision without the explanations, for a dispatcher that scans a long queue.
    public struct Decision: Sendable, Hashable {
        /// Index in `nodes` of the node to dispatch to; nil = wait.
        public var node: Int?
        /// Index in `nodes` of the full node the job is held back for
        /// (see `SchedulerKnobs.waitForFullNodeGainSeconds`).
        public var waitingFor: Int?
        /// When held back although a node with room could run it: that node, and the seconds of score the full node
        /// was predicted to gain over it.
        public var passedOver: Int?
        public var predictedGain: Double?

        public init(node: Int?, waitingFor: Int? = nil, passedOver: Int? = nil, predictedGain: Double? = nil) {
            self.node = node
            self.waitingFor = waitingFor
            self.passedOver = passedOver
            self.predictedGain = predictedGain
        }
    }

    /// Filter → score → pick, with every node's reason. Pure and deterministic (ties broken by node name).
    ///
    /// `waitingBehind` counts, per checkpoint, the jobs after this one in the dispatcher's queue: with an eviction
    /// weight, a node whose checkpoint they want is spared for them (see `SchedulerKnobs.evictionWeight`).
    public static func place(
        _ job: JobRequirements, on nodes: [NodeSnapshot], knobs: SchedulerKnobs = .init(),
        waitingBehind: [String: Int] = [:]
    ) -> Placement {
        placement(job, on: nodes, view: FleetView(nodes, waiting: waitingBehind), knobs: knobs)
    }

    static func placement(
        _ job: JobRequirements, on nodes: [NodeSnapshot], view: FleetView, knobs: SchedulerKnobs, checkpointID: Int? = nil
    ) -> Placement {
        let assessments = assess(job, on: nodes, view: view, knobs: knobs, checkpointID: checkpointID)
        let problems = nodes.map { capabilityProblem(job, on: $0) }
        let decision = select(job, on: nodes, assessments, knobs: knobs) { problems[$0] == nil }
        var candidates: [Candidate] = []
        candidates.reserveCapacity(nodes.count)
        var capable: [String] = []
        for index in nodes.indices {
            let node = nodes[index]
            let assessment = assessments[index]
            if problems[index] == nil { capable.append(node.name) }
            let hasFinish = problems[index] == nil && (assessment.status == .room || assessment.status == .full)
            let parts = hasFinish ? predictedFinish(job, on: node) : nil
            candidates.append(
                Candidate(
                    node: node.name,
                    eligible: problems[index] == nil && assessment.status == .room,
                    reason: reason(assessment, problem: problems[index], job: job, node: node),
                    predictedFinishSeconds: hasFinish ? assessment.finish : nil,
                    predictedRunSeconds: parts.map { $0.load + $0.run }
                ))
        }
        return Placement(
            node: decision.node.map { nodes[$0].name },
            candidates: candidates,
            capableNodes: capable,
            waitingFor: decision.waitingFor.map { nodes[$0].name }
        )
    }

    /// The same choice as `place`, without the reasons, checking capabilities only of nodes that could win.
    public static func decide(
        _ job: JobRequirements, on nodes: [NodeSnapshot], knobs: SchedulerKnobs = .init()
    ) -> Decision {
        decide(job, on: nodes, view: FleetView(nodes), knobs: knobs)
    }

    static func decide(
        _ job: JobRequirements, on nodes: [NodeSnapshot], view: FleetView, knobs: SchedulerKnobs, checkpointID: Int? = nil
    ) -> Decision {
        // 0 = not checked yet, 1 = capable, 2 = not.
        var capability = [UInt8](repeating: 0, count: nodes.count)
        let assessments = assess(job, on: nodes, view: view, knobs: knobs, checkpointID: checkpointID)
        return select(job, on: nodes, assessments, knobs: knobs) { index in
            if capability[index] == 0 { capability[index] = capabilityProblem(job, on: nodes[index]) == nil ? 1 : 2 }
            return capability[index] == 1
        }
    }

    /// Whether a node could run the job at all (class types, combo values, VRAM), whatever its health, drain or room.
    public static func canRun(_ job: JobRequirements, on node: NodeSnapshot) -> Bool {
        capabilityProblem(job, on: node) == nil
    }

    /// Predicted seconds for the job on a node: max(committed, transfer of the files it lacks)
    /// + (checkpoint not resident ? load : 0) + work / speed. The transfer overlaps the node's committed work,
    /// since the files are sent while it runs what it has.
    ///
    /// Negative or NaN inputs count as 0; a speed that is not > 0 gives an infinite run time.
    public static func predictedFinish(
        _ job: JobRequirements, on node: NodeSnapshot
    ) -> (queue: Double, load: Double, run: Double) {
        let queue = max(nonNegative(node.committedSeconds), transferSeconds(job, to: node))
        let needsLoad = job.checkpoint != nil && node.residentCheckpoint != job.checkpoint
        let load = needsLoad ? nonNegative(node.checkpointLoadSeconds) : 0
        return (queue, load, runSeconds(job.work, speed: node.speed))
    }

    /// Seconds to send the node the files of the job it does not hold.
    public static func transferSeconds(_ job: JobRequirements, to node: NodeSnapshot) -> Double {
        guard !job.files.isEmpty, node.transferBytesPerSecond > 0 else { return 0 }
        var bytes: Int64 = 0
        for file in job.files where !node.heldFiles.contains(file.id) { bytes += max(0, file.bytes) }
        return bytes == 0 ? 0 : nonNegative(Double(bytes) / node.transferBytesPerSecond)
    }

    static func nonNegative(_ value: Double) -> Double { value > 0 ? value : 0 }
}

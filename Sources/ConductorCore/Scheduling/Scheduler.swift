/// Places one job on a fleet: filter the nodes that can take it now, score them by predicted finish, pick.
///
/// Pure and deterministic: the same job and snapshots give the same answer whatever the order of the nodes
/// (ties are broken by checkpoint affinity, then speed, then node name).
public enum Scheduler {
    /// A decision without the explanations, for a dispatcher that scans a long queue.
    public struct Decision: Sendable, Hashable {
        /// Index in `nodes` of the node to dispatch to; nil = wait.
        public var node: Int?
        /// Index in `nodes` of the full node the job is held back for (see `SchedulerKnobs.waitForFullNodeGainSeconds`).
        public var waitingFor: Int?
        /// Whether any node could run the job at all (see `Placement.capableNodes`).
        public var anyCapable: Bool

        public init(node: Int?, waitingFor: Int? = nil, anyCapable: Bool) {
            self.node = node
            self.waitingFor = waitingFor
            self.anyCapable = anyCapable
        }
    }

    /// Filter → score → pick, with every node's reason. Pure and deterministic (ties broken by node name).
    public static func place(
        _ job: JobRequirements, on nodes: [NodeSnapshot], knobs: SchedulerKnobs = .init()
    ) -> Placement {
        let assessments = nodes.map { assess(job, on: $0) }
        let decision = select(job, on: nodes, assessments, knobs: knobs)
        var candidates: [Candidate] = []
        candidates.reserveCapacity(nodes.count)
        var capable: [String] = []
        for (node, assessment) in zip(nodes, assessments) {
            if assessment.capable { capable.append(node.name) }
            candidates.append(
                Candidate(
                    node: node.name,
                    eligible: assessment.verdict == .eligible,
                    reason: reason(assessment.verdict, job: job, node: node),
                    predictedFinishSeconds: assessment.hasFinish ? assessment.finish : nil
                ))
        }
        return Placement(
            node: decision.node.map { nodes[$0].name },
            candidates: candidates,
            capableNodes: capable,
            waitingFor: decision.waitingFor.map { nodes[$0].name }
        )
    }

    /// The same choice as `place`, without building the reasons.
    public static func decide(
        _ job: JobRequirements, on nodes: [NodeSnapshot], knobs: SchedulerKnobs = .init()
    ) -> Decision {
        select(job, on: nodes, nodes.map { assess(job, on: $0) }, knobs: knobs)
    }

    /// Predicted seconds for the job on a node: committed + (checkpoint not resident ? load : 0) + work / speed.
    ///
    /// Negative or NaN inputs count as 0; a speed that is not > 0 gives an infinite run time.
    public static func predictedFinish(
        _ job: JobRequirements, on node: NodeSnapshot
    ) -> (queue: Double, load: Double, run: Double) {
        let queue = nonNegative(node.committedSeconds)
        let needsLoad = job.checkpoint != nil && node.residentCheckpoint != job.checkpoint
        let load = needsLoad ? nonNegative(node.checkpointLoadSeconds) : 0
        let work = nonNegative(job.work)
        var run = node.speed > 0 ? work / node.speed : .infinity
        if run.isNaN { run = .infinity }
        return (queue, load, run)
    }

    // MARK: - Filter

    /// How a node stands for one job; the first failing check wins, in this order.
    enum Verdict: Hashable {
        case unhealthy, draining, missingClass, unknownChoice, notEnoughVRAM, full, eligible
    }

    struct Assessment {
        var verdict: Verdict
        /// Passes class types, combo values and VRAM, whatever the health, drain or room.
        var capable: Bool
        /// Whether the node already holds the job's checkpoint.
        var holdsCheckpoint: Bool
        /// Predicted finish, meaningful when `hasFinish`.
        var finish: Double
        var hasFinish: Bool { verdict == .eligible || verdict == .full }
    }

    static func assess(_ job: JobRequirements, on node: NodeSnapshot) -> Assessment {
        let capability = capabilityProblem(job, on: node)
        let verdict: Verdict =
            if node.health != .up { .unhealthy }
            else if node.draining { .draining }
            else if let capability { capability }
            else if node.outstanding >= node.maxOutstanding { .full }
            else { .eligible }
        var finish = 0.0
        if verdict == .eligible || verdict == .full {
            let parts = predictedFinish(job, on: node)
            finish = parts.queue + parts.load + parts.run
        }
        return Assessment(
            verdict: verdict,
            capable: capability == nil,
            holdsCheckpoint: job.checkpoint != nil && node.residentCheckpoint == job.checkpoint,
            finish: finish
        )
    }

    static func capabilityProblem(_ job: JobRequirements, on node: NodeSnapshot) -> Verdict? {
        if !job.classTypes.isSubset(of: node.classTypes) { return .missingClass }
        if firstUnknownChoice(job, on: node) != nil { return .unknownChoice }
        if let needed = job.vramNeeded, node.vramTotal > 0, needed > node.vramTotal { return .notEnoughVRAM }
        return nil
    }

    static func firstUnknownChoice(_ job: JobRequirements, on node: NodeSnapshot) -> JobRequirements.Choice? {
        guard !node.comboValues.isEmpty else { return nil }
        return job.choices.first { choice in
            guard let allowed = node.comboValues[choice.classType]?[choice.input] else { return false }
            return !allowed.contains(choice.value)
        }
    }

    // MARK: - Score and pick

    static func select(
        _ job: JobRequirements, on nodes: [NodeSnapshot], _ assessments: [Assessment], knobs: SchedulerKnobs
    ) -> Decision {
        var eligible: [Int] = []
        var full: [Int] = []
        var anyCapable = false
        for (index, assessment) in assessments.enumerated() {
            anyCapable = anyCapable || assessment.capable
            switch assessment.verdict {
            case .eligible: eligible.append(index)
            case .full: full.append(index)
            default: break
            }
        }
        let slack = nonNegative(knobs.affinitySlackSeconds)
        var chosen = best(among: eligible, nodes, assessments, slack: slack)
        var waitingFor: Int?
        if let gain = knobs.waitForFullNodeGainSeconds, let fullBest = best(among: full, nodes, assessments, slack: slack) {
            if let pick = chosen {
                if assessments[fullBest].finish + nonNegative(gain) < assessments[pick].finish {
                    chosen = nil
                    waitingFor = fullBest
                }
            } else {
                waitingFor = fullBest
            }
        }
        return Decision(node: chosen, waitingFor: waitingFor, anyCapable: anyCapable)
    }

    /// The smallest predicted finish, except that a node holding the checkpoint wins when it is no more than
    /// `slack` seconds later; ties (within rounding) go to the holder, then the faster node, then the name.
    static func best(among indices: [Int], _ nodes: [NodeSnapshot], _ assessments: [Assessment], slack: Double) -> Int? {
        guard !indices.isEmpty else { return nil }
        var fastest = Double.infinity
        var fastestHolder = Double.infinity
        var anyHolder = false
        for index in indices {
            let assessment = assessments[index]
            fastest = min(fastest, assessment.finish)
            if assessment.holdsCheckpoint {
                anyHolder = true
                fastestHolder = min(fastestHolder, assessment.finish)
            }
        }
        let holdersOnly = anyHolder && fastestHolder <= fastest + slack + tolerance(fastest)
        let target = holdersOnly ? fastestHolder : fastest
        var chosen: Int?
        for index in indices {
            let assessment = assessments[index]
            guard !holdersOnly || assessment.holdsCheckpoint, assessment.finish <= target + tolerance(target) else {
                continue
            }
            if let current = chosen, !isPreferred(index, over: current, nodes, assessments) { continue }
            chosen = index
        }
        return chosen
    }

    static func isPreferred(_ a: Int, over b: Int, _ nodes: [NodeSnapshot], _ assessments: [Assessment]) -> Bool {
        if assessments[a].holdsCheckpoint != assessments[b].holdsCheckpoint { return assessments[a].holdsCheckpoint }
        let speedA = nonNegative(nodes[a].speed)
        let speedB = nonNegative(nodes[b].speed)
        if speedA != speedB { return speedA > speedB }
        if nodes[a].name != nodes[b].name { return nodes[a].name < nodes[b].name }
        return a < b
    }

    /// Predicted finishes this close count as equal, so sums computed in a different order do not decide.
    static func tolerance(_ seconds: Double) -> Double { 1e-9 * max(1, abs(seconds)) }

    static func nonNegative(_ value: Double) -> Double { value > 0 ? value : 0 }
}

extension Scheduler {
    /// One queued job placed by `assign`: its position in the queue and the position of its node.
    public struct Assignment: Sendable, Hashable {
        public var job: Int
        public var node: Int
        /// With `explain`, the decision with every node's reason, as the round saw the fleet when it placed the job.
        public var placement: Placement?

        public init(job: Int, node: Int, placement: Placement? = nil) {
            self.job = job
            self.node = node
            self.placement = placement
        }
    }

    /// One dispatch round: walks the queue in order and places every job that should start now.
    ///
    /// Each placement is counted against its node (`NodeSnapshot.committing`) before the next job is decided, and a
    /// job held back for a full node reserves its time there, so later jobs do not all wait for the same node.
    /// Stops as soon as no node that is up and not draining has room, or after `lookahead` jobs. Jobs not assigned
    /// stay queued. With `explain`, each assignment carries its `Placement`, taken from the same state the decision
    /// was (earlier placements and holds of the round counted), so the record says why that node won.
    /// `onHold` hears of each job held back for a full node although a node with room could run it (its position
    /// and the decision, with the node passed over and the predicted gain), so the runtime can say why it waited.
    public static func assign(
        _ queue: [JobRequirements], to nodes: [NodeSnapshot], knobs: SchedulerKnobs = .init(), lookahead: Int = .max,
        explain: Bool = false, onHold: ((Int, Decision) -> Void)? = nil
    ) -> [Assignment] {
        var nodes = nodes
        let offered = queue.prefix(max(0, lookahead))
        var view = FleetView(nodes)
        // Checkpoint ids of the jobs that entered the window of `waitingHorizon` jobs behind the one decided.
        var ids: [Int] = []
        let horizon = waitingHorizon(nodes: nodes.count)
        var withRoom = nodes.count { takesWork($0) }
        var assignments: [Assignment] = []
        for (position, job) in offered.enumerated() {
            guard withRoom > 0 else { break }
            while ids.count < min(offered.count, position + 1 + horizon) { ids.append(view.enqueue(offered[ids.count])) }
            view.dequeue(ids[position])
            let decision = decide(job, on: nodes, view: view, knobs: knobs, checkpointID: ids[position])
            if let index = decision.node {
                let placement = explain ? placement(job, on: nodes, view: view, knobs: knobs, checkpointID: ids[position]) : nil
                assignments.append(Assignment(job: position, node: index, placement: placement))
                nodes[index] = nodes[index].committing(job)
                view.node(index, willHold: job.checkpoint)
                if !takesWork(nodes[index]) { withRoom -= 1 }
            } else if let index = decision.waitingFor {
                if decision.passedOver != nil { onHold?(position, decision) }
                var reserved = nodes[index].committing(job)
                reserved.outstanding = nodes[index].outstanding
                nodes[index] = reserved
                view.node(index, willHold: job.checkpoint)
            }
        }
        return assignments
    }

    /// How many jobs behind the one being decided count as waiting for their checkpoint (see
    /// `SchedulerKnobs.evictionWeight`): 4 per node, about two rounds' worth. Jobs further back will not be dispatched
    /// before the fleet's nodes have turned over, so no node is spared for them.
    public static func waitingHorizon(nodes: Int) -> Int { 4 * max(1, nodes) }

    /// Per checkpoint, the jobs within `waitingHorizon` behind `position` in `queue`: what `place` is told, to explain
    /// the decision `assign` made for that job.
    public static func waitingBehind(_ position: Int, in queue: [JobRequirements], nodes: Int) -> [String: Int] {
        var counts: [String: Int] = [:]
        let end = min(queue.count, position + 1 + waitingHorizon(nodes: nodes))
        guard position + 1 < end else { return counts }
        for job in queue[(position + 1)..<end] { if let checkpoint = job.checkpoint { counts[checkpoint, default: 0] += 1 } }
        return counts
    }

    static func takesWork(_ node: NodeSnapshot) -> Bool {
        node.health == .up && !node.draining && node.outstanding < node.maxOutstanding
    }
}

extension Scheduler {
    /// One queued job placed by `assign`: its position in the queue and the position of its node.
    public struct Assignment: Sendable, Hashable {
        public var job: Int
        public var node: Int

        public init(job: Int, node: Int) {
            self.job = job
            self.node = node
        }
    }

    /// One dispatch round: walks the queue in order and places every job that should start now.
    ///
    /// Each placement is counted against its node (`NodeSnapshot.committing`) before the next job is decided, and a
    /// job held back for a full node reserves its time there, so later jobs do not all wait for the same node.
    /// Stops as soon as no node that is up and not draining has room, or after `lookahead` jobs. Jobs not assigned
    /// stay queued. For the reasons behind one assignment, call `place` with the snapshots as that job saw them.
    public static func assign(
        _ queue: [JobRequirements], to nodes: [NodeSnapshot], knobs: SchedulerKnobs = .init(), lookahead: Int = .max
    ) -> [Assignment] {
        var nodes = nodes
        let offered = queue.prefix(max(0, lookahead))
        var view = FleetView(nodes, queue: offered)
        var withRoom = nodes.count { takesWork($0) }
        var assignments: [Assignment] = []
        for (position, job) in offered.enumerated() {
            guard withRoom > 0 else { break }
            view.placed(job.checkpoint)
            let decision = decide(job, on: nodes, view: view, knobs: knobs)
            if let index = decision.node {
                assignments.append(Assignment(job: position, node: index))
                nodes[index] = nodes[index].committing(job)
                view.node(index, willHold: job.checkpoint)
                if !takesWork(nodes[index]) { withRoom -= 1 }
            } else if let index = decision.waitingFor {
                var reserved = nodes[index].committing(job)
                reserved.outstanding = nodes[index].outstanding
                nodes[index] = reserved
                view.node(index, willHold: job.checkpoint)
            }
        }
        return assignments
    }

    static func takesWork(_ node: NodeSnapshot) -> Bool {
        node.health == .up && !node.draining && node.outstanding < node.maxOutstanding
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which checkpoint each node should hold for the demand the fleet sees: the release valve's other half.
///
/// `Scheduler` prefers a node that holds a job's checkpoint, and a load that evicts another checkpoint costs
/// `SchedulerKnobs.evictionWeight` × the load on top of the load itself, unless the plan gives that node to the job's
/// checkpoint. So when several checkpoints compete for few nodes, the plan decides which node switches: nodes move
/// towards the plan as jobs of the planned checkpoint come, and away from it only when a job would wait longer than
/// the penalised load.
///
/// How it decides: each checkpoint's planned nodes are seen as one pool serving that checkpoint's jobs
/// (`CheckpointDemand`), and the plan minimises the predicted sum of completion times per second,
/// Σ λ × (run + wait), where run = mean work × nodes ÷ Σ speed and wait is the Sakasegawa approximation for a
/// many-server queue, scaled by (1 + variability) ÷ 2. Starting from the current plan (or what the nodes hold), it
/// moves one node at a time to another checkpoint while that lowers the cost by more than
/// `5 % × the node's load seconds + 0.01`, so noise in the demand does not make nodes switch back and forth.
public enum CheckpointPlan {
    /// A node as the plan sees it.
    public struct Node: Sendable, Hashable {
        /// Work units per second; a node with speed ≤ 0 (down, draining) gets no checkpoint.
        public var speed: Double
        /// The checkpoint it is planned for now, or else the one it holds; nil = none.
        public var current: String?
        /// Seconds it takes to load a checkpoint.
        public var loadSeconds: Double
        /// The checkpoints it can load; nil = any.
        public var checkpoints: Set<String>?

        public init(speed: Double, current: String?, loadSeconds: Double, checkpoints: Set<String>? = nil) {
            self.speed = speed
            self.current = current
            self.loadSeconds = loadSeconds
            self.checkpoints = checkpoints
        }

        func canLoad(_ checkpoint: String) -> Bool { checkpoints?.contains(checkpoint) ?? true }
    }

    /// The checkpoint planned for each node, in the order given; nil for nodes that take no work or when no
    /// checkpoint is in demand.
    public static func plan(_ nodes: [Node], demand: [String: CheckpointDemand.Rate]) -> [String?] {
        let checkpoints = demand.keys.sorted()
        guard !checkpoints.isEmpty else { return nodes.map { _ in nil } }
        let ids = Dictionary(uniqueKeysWithValues: checkpoints.enumerated().map { ($1, $0) })
        let rates = checkpoints.map { demand[$0]! }
        // Per node: index of its planned checkpoint, or -1.
        var assigned = nodes.map { node in
            guard node.speed > 0, let current = node.current, node.canLoad(current) else { return -1 }
            return ids[current] ?? -1
        }
        var pools = Array(repeating: Pool(), count: checkpoints.count)
        for (index, id) in assigned.enumerated() where id >= 0 { pools[id].add(nodes[index].speed) }

        for _ in 0..<(nodes.count * 4) {
            var best: (gain: Double, node: Int, to: Int)?
            for index in nodes.indices where nodes[index].speed > 0 {
                let speed = nodes[index].speed
                let from = assigned[index]
                // What its current checkpoint's jobs lose when it leaves them.
                let leaving = from >= 0 ? cost(rates[from], pools[from].removing(speed)) - cost(rates[from], pools[from]) : 0
                let threshold = 0.05 * max(0, nodes[index].loadSeconds) + 0.01
                for to in checkpoints.indices where to != from && nodes[index].canLoad(checkpoints[to]) {
                    let gain = cost(rates[to], pools[to]) - cost(rates[to], pools[to].adding(speed)) - leaving
                    guard gain > threshold, best.map({ gain > $0.gain }) ?? true else { continue }
                    best = (gain, index, to)
                }
            }
            guard let move = best else { break }
            if assigned[move.node] >= 0 { pools[assigned[move.node]].remove(nodes[move.node].speed) }
            pools[move.to].add(nodes[move.node].speed)
            assigned[move.node] = move.to
        }
        return assigned.map { $0 >= 0 ? checkpoints[$0] : nil }
    }

    /// The plan for nodes as the scheduler sees them, moved on from `previous` (node name → planned checkpoint): a node
    /// that is not up or is draining gets none; one without a previous plan starts from the checkpoint it will hold.
    public static func plan(
        _ snapshots: [NodeSnapshot], previous: [String: String], demand: [String: CheckpointDemand.Rate]
    ) -> [String?] {
        plan(
            snapshots.map { node in
                Node(
                    speed: node.health == .up && !node.draining ? node.speed : 0,
                    current: previous[node.name] ?? node.residentCheckpoint, loadSeconds: node.checkpointLoadSeconds,
                    checkpoints: node.loadableCheckpoints)
            },
            demand: demand)
    }

    /// The nodes planned for one checkpoint.
    struct Pool {
        var count = 0
        var speed = 0.0

        mutating func add(_ s: Double) {
            count += 1
            speed += s
        }
        mutating func remove(_ s: Double) {
            count -= 1
            speed -= s
        }
        func adding(_ s: Double) -> Pool { Pool(count: count + 1, speed: speed + s) }
        func removing(_ s: Double) -> Pool { Pool(count: count - 1, speed: speed - s) }
    }

    /// Predicted completion seconds accrued per second by one checkpoint's jobs on its pool.
    static func cost(_ rate: CheckpointDemand.Rate, _ pool: Pool) -> Double {
        let arrivals = rate.jobsPerSecond
        guard arrivals > 0 else { return 0 }
        let work = max(rate.meanWork, 1e-6)
        // No node for a checkpoint in demand: every job pays a load somewhere; dearer than any served pool.
        guard pool.count > 0, pool.speed > 1e-9 else { return arrivals * 1e9 }
        let servers = Double(pool.count)
        let service = work * servers / pool.speed
        let load = arrivals * work / pool.speed
        guard load < 0.97 else { return arrivals * service * (1 + 1_000 * load) }
        let waiting =
            pow(load, (2 * (servers + 1)).squareRoot() - 1) / (servers * (1 - load)) * service
            * (1 + max(0, rate.workVariability)) / 2
        return arrivals * (service + waiting)
    }
}

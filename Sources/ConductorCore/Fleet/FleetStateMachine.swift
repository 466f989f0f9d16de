import ComfyWire

/// The coordinator's decisions about jobs and nodes, as a value: events come in with their time, actions go out.
///
/// It does no I/O, reads no clock and never waits. The server's `Coordinator` applies one event at a time, runs the
/// actions (store writes, deliveries and posts on each node's lane, history reads, messages to clients) outside the
/// transition, and feeds their results back as events. Tests drive it with plain values and a manual clock.
public struct FleetStateMachine: Sendable {
    /// The moment of an event: seconds on the coordinator's monotonic clock, and the wall clock in milliseconds since
    /// the epoch (for timestamps clients and history read).
    public struct Moment: Sendable, Hashable {
        public var seconds: Double
        public var epochMilliseconds: Int64

        public init(seconds: Double, epochMilliseconds: Int64) {
            self.seconds = seconds
            self.epochMilliseconds = epochMilliseconds
        }
    }

    public let limits: ClusterConfig.Limits
    let checkpointLoadSeconds: Double
    /// The client id prefix Conductor posts under on nodes (`conductor-<instance>-`): prompts of it on a node that are
    /// not its jobs there are removed.
    let clientPrefix: String
    /// Each API key name's share weight.
    let weights: [String: Double]
    public internal(set) var jobs: [String: FleetJob] = [:]
    public internal(set) var nodes: [String: FleetNode] = [:]
    /// The fleet in order: cluster.json's nodes with the operator's changes, then nodes added at run time.
    public internal(set) var nodeOrder: [String] = []
    /// Fair shares, the checkpoint plan, learned run times and VRAM: the decisions the benchmark simulation runs too.
    public internal(set) var dispatcher: FleetDispatcher
    /// Ids of jobs sent to a node, so node-scoped questions do not scan the whole queue. It may still hold a job that
    /// has since finished or come back to the queue: readers go through `jobs(on:)`.
    var placed: Set<String> = []
    /// Whether dispatch rounds write each placement's explanation (the server keeps them for operators; the benchmark
    /// simulation does not need them).
    public var explains = true

    public init(config: ClusterConfig, instanceID: String, nodes fleet: [ClusterConfig.Node]? = nil) {
        limits = config.limits
        checkpointLoadSeconds = config.checkpointLoadSeconds
        clientPrefix = "conductor-\(instanceID)-"
        weights = config.auth.keys.reduce(into: [:]) { $0[$1.name] = max($0[$1.name] ?? 0, $1.weight) }
        dispatcher = FleetDispatcher(
            knobs: config.scheduler, retryBudgetFraction: config.limits.retryBudgetFraction,
            minRetryConcurrency: config.limits.minRetryConcurrency)
        for node in fleet ?? config.nodes { add(node, at: 0) }
    }

    mutating func add(_ config: ClusterConfig.Node, at now: Double) {
        nodes[config.name] = FleetNode(config: config, loadSeconds: checkpointLoadSeconds, at: now)
        nodeOrder.append(config.name)
    }

    /// Takes a node's speed as measured, as a warm-up's jobs would have (the benchmark simulation starts warm this way;
    /// a coordinator that just started knows only the declared speeds).
    public mutating func assumeMeasured(speed unitsPerSecond: Double, of node: String) {
        guard nodes[node] != nil, unitsPerSecond > 0 else { return }
        var speed = SpeedEstimate(declared: unitsPerSecond)
        speed.record(work: unitsPerSecond, seconds: 1, prior: unitsPerSecond)
        nodes[node]?.speed = speed
    }

    /// A client's weight in the fair shares: its API key's `weight`, else 1.
    func shareWeight(of principal: String?) -> Double { principal.flatMap { weights[$0] } ?? 1 }

    // MARK: Restoring

    /// Jobs the store kept from an earlier run: queued ones wait again, stamped among the shares in queue order; ones
    /// that were on nodes are attached to them (the node's queue and history say later whether they run or ended).
    public mutating func restore(
        _ restored: [(job: Job, requirements: JobRequirements)], draining: Set<String>,
        vramNeeds: [String: Int64], at now: Double
    ) {
        dispatcher.vramNeeds = vramNeeds
        for name in draining { nodes[name]?.draining = true }
        for (job, requirements) in restored {
            let onNode = job.state != .queued
            if job.node != nil { placed.insert(job.id) }
            jobs[job.id] = FleetJob(
                job: job, requirements: requirements, principal: job.principal ?? job.clientID,
                dispatchedAt: onNode ? now : nil, postedAt: onNode ? now : nil)
        }
        for active in Self.ordered(jobs.values.filter { $0.job.state == .queued }) {
            let weight = shareWeight(of: active.principal)
            jobs[active.job.id]?.fairStamp = dispatcher.enqueue(
                client: active.principal ?? "", work: active.requirements.work, weight: weight,
                checkpoint: active.requirements.checkpoint, at: now)
        }
    }

    // MARK: Views

    /// The unfinished jobs on a node (any node when nil), unordered.
    public func jobs(on name: String?) -> [FleetJob] {
        placed.compactMap { jobs[$0] }.filter { active in name.map { active.job.node == $0 } ?? (active.job.node != nil) }
    }

    /// Queue order: `number`, then acceptance. The keys are read once and sorted beside the indices.
    public static func ordered(_ list: [FleetJob]) -> [FleetJob] {
        let keys = list.map { ($0.job.number.double ?? 0, $0.job.sequence) }
        return list.indices.sorted { keys[$0] < keys[$1] }.map { list[$0] }
    }

    /// Whether a submit from `client` is over a limit: the reason, or nil to accept.
    public func overload(client: String?) -> String? {
        if jobs.count >= limits.maxQueuedJobs { return "The queue is full (\(limits.maxQueuedJobs) unfinished prompts)" }
        if let perClient = limits.maxQueuedPerClient, let client, jobs.values.lazy.filter({ $0.principal == client }).count >= perClient {
            return "This client has \(perClient) unfinished prompts, the most allowed"
        }
        return nil
    }

    /// Each node's speed as the scheduler uses it (`FleetDispatcher.effectiveSpeeds`).
    public func effectiveSpeeds() -> [String: Double] {
        FleetDispatcher.effectiveSpeeds(nodes.values.map { ($0.config.name, $0.speed, $0.config.speed) })
    }

    /// What each node can run, without its load: enough for `Scheduler.canRun`, cheap enough for every submit.
    public func capabilitySnapshots() -> [NodeSnapshot] {
        let speeds = effectiveSpeeds()
        return nodeOrder.compactMap { name in
            guard let node = nodes[name] else { return nil }
            return NodeSnapshot(
                name: name, health: node.health, maxOutstanding: node.config.maxOutstanding,
                classTypes: node.classTypes, comboValues: node.comboValues, vramTotal: node.vramTotal,
                vramFree: node.vramFree, speed: speeds[name] ?? node.speed.unitsPerSecond, speedMeasured: node.speed.samples > 0,
                checkpointLoadSeconds: checkpointLoadSeconds)
        }
    }

    /// The nodes ejected now (none past the panic threshold: see `Ejection.ejected`).
    public func ejectedNodes(at now: Double) -> Set<String> {
        Ejection.ejected(nodeOrder.compactMap { name in nodes[name].map { (name, $0.ejection) } }, at: now, limits: limits)
    }

    /// Whether the node's WebSocket has been gone longer than `limits.nodeWebSocketGraceSeconds`: Conductor would not
    /// hear its jobs' progress, so it holds none waiting and `/readyz` does not count it.
    public func isUnlinked(_ name: String, at now: Double) -> Bool {
        guard let node = nodes[name], !node.webSocketConnected, let lost = node.webSocketLostAt else { return false }
        return now - lost > limits.nodeWebSocketGraceSeconds
    }

    /// Each node as the dispatcher sees it: its state, and its jobs in the order it runs them, the running one first.
    public func nodeViews(at now: Double) -> [FleetDispatcher.NodeView] {
        let ejected = ejectedNodes(at: now)
        let speeds = effectiveSpeeds()
        return nodeOrder.compactMap { name in
            guard let node = nodes[name] else { return nil }
            // Without its WebSocket a node's jobs would run unseen: it takes no new work until reconnected.
            // An ejected node also waits (unless too much of the fleet is ejected).
            let health: NodeHealth = node.health == .up && (!node.webSocketConnected || ejected.contains(name)) ? .suspect : node.health
            let snapshot = NodeSnapshot(
                name: name, health: health, draining: node.draining, outstanding: 0,
                maxOutstanding: node.config.maxOutstanding, classTypes: node.classTypes, comboValues: node.comboValues,
                vramTotal: node.vramTotal, vramFree: node.vramFree, residentCheckpoint: node.loadedCheckpoint,
                speed: speeds[name] ?? node.speed.unitsPerSecond, speedMeasured: node.speed.samples > 0, committedSeconds: 0,
                checkpointLoadSeconds: node.loadSeconds.seconds)
            let mine = jobs(on: name).sorted { a, b in
                if (a.job.state == .running) != (b.job.state == .running) { return a.job.state == .running }
                return (a.dispatchedAt ?? now) < (b.dispatchedAt ?? now)
            }
            return FleetDispatcher.NodeView(
                snapshot: snapshot,
                outstanding: mine.map { active in
                    FleetDispatcher.Outstanding(requirements: active.requirements, startedAt: active.startedAt, nodeFailures: active.nodeFailures)
                })
        }
    }

    /// The job a preview without a prompt id belongs to: the node's current prompt, while it is still that node's job.
    public func currentJob(on node: String) -> FleetJob? {
        guard let id = nodes[node]?.currentPrompt, let active = jobs[id], active.job.node == node else { return nil }
        return active
    }

    /// Whether the node's lane should still deliver and post the job: it is that node's, dispatched and not yet posted.
    public func awaitsPost(_ id: String, on node: String) -> Job? {
        guard let active = jobs[id], active.job.state == .dispatched, active.job.node == node, active.postedAt == nil,
            nodes[node] != nil
        else { return nil }
        return active.job
    }
}

/// An unfinished job with what only the running coordinator needs.
public struct FleetJob: Sendable {
    public var job: Job
    public var requirements: JobRequirements
    /// Who the per-client limit and fair shares count it for (API key name, else client_id).
    public var principal: String?
    /// The graph node executing now, for a reconnecting client.
    public var executingNode: String?
    public var dispatchedAt: Double?
    /// When the node accepted its `POST /prompt` (nil while its files are delivered and its post is in flight): only a
    /// job the node accepted a while before a `/queue` answer can be missing from it.
    public var postedAt: Double?
    public var startedAt: Double?
    /// Its end is being read from its node or committed to the store: no other transition touches it meanwhile.
    public var finalizing = false
    /// The end being committed (its history entry, as the store gets it), told to the client once the store has it.
    var ending: (kind: Ending, entry: HistoryEntry)?
    /// Times the job was sent back because its node had lost a delivered copy (a wiped input directory).
    public var lostCopyRetries = 0
    /// Its virtual start among the clients' fair shares (`FairShare`); kept when it goes back to the queue.
    public var fairStamp = 0.0
    /// Predicted seconds from start to end on its node (load + run), for the run-time limit.
    public var predictedSeconds: Double?
    /// Times the job was lost with its node (node died while running it, or it overran its time limit).
    public var nodeFailures = 0
    /// What the node's WebSocket said of the current run (status messages and outputs, node-side names), so a job whose
    /// node dies after `execution_success` but before Conductor read its history is not run again.
    public var relayedMessages: [StatusMessage] = []
    public var relayedOutputs: JSONObject = [:]
    /// Why the scheduler put it on its node this time (the store and `job.placement` keep it as JSON).
    public var placement: Placement?
    /// Why the scheduler last held it back for a busier node while another could have started it, and since when.
    public var heldBack: (why: String, since: Double)?

    /// Sent with `front` (a negative number): ahead of every share.
    public var isFront: Bool { (job.number.double ?? 0) < 0 }

    public init(job: Job, requirements: JobRequirements, principal: String?, dispatchedAt: Double? = nil, postedAt: Double? = nil) {
        self.job = job
        self.requirements = requirements
        self.principal = principal
        self.dispatchedAt = dispatchedAt
        self.postedAt = postedAt
    }

    enum Ending: Sendable {
        /// It ended on its node: `nodeEntry` is the node's history entry (node-side names).
        case ran(nodeEntry: HistoryEntry)
        /// It never ran: the client hears this error.
        case refused(ServerMessage)
    }
}

/// What the coordinator decides with about one node (its catalog and connection live in the shell).
public struct FleetNode: Sendable {
    public let config: ClusterConfig.Node
    public var health: NodeHealth = .down
    public var webSocketConnected = false
    /// Since when the node's WebSocket has been gone (nil while connected).
    public var webSocketLostAt: Double?
    public var draining = false
    public var classTypes: Set<String> = []
    public var comboValues: [String: [String: Set<String>]] = [:]
    public var vramTotal: Int64 = 0
    public var vramFree: Int64 = 0
    public var speed: SpeedEstimate
    /// Seconds a checkpoint load takes on this node, learned from jobs that loaded one (starts at cluster.json's).
    public var loadSeconds: LoadTimeEstimate
    /// The checkpoint the node last finished a job with, so (as far as Conductor knows) holds in VRAM.
    public var loadedCheckpoint: String?
    /// The prompt the node is executing now (for previews without a prompt_id).
    public var currentPrompt: String?
    /// Failures in a row (jobs lost, prompts or files refused), and until when the node is ejected for them.
    public var ejection = Ejection()

    init(config: ClusterConfig.Node, loadSeconds: Double, at now: Double) {
        self.config = config
        webSocketLostAt = now
        speed = SpeedEstimate(declared: config.speed)
        self.loadSeconds = LoadTimeEstimate(declared: loadSeconds)
    }

    /// Health as Conductor judges it for taking work: up needs the WebSocket too.
    public var effectiveHealth: NodeHealth { health == .up && !webSocketConnected ? .suspect : health }
}

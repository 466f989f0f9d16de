import AsyncHTTPClient
import ComfyWire
import ConductorCore
import Foundation
import Logging
import NIOHTTP1

/// The coordinator: the shell around the fleet's state machine (`FleetStateMachine`). It accepts prompts into the
/// durable queue, feeds the state machine the fleet's events with their time, and runs the actions it returns: store
/// writes (in order), deliveries and posts on each node's lane, history reads, messages to clients.
///
/// A transition never awaits: job and node state change only inside `fleet.handle`/`fleet.dispatch`, and what waits
/// (a node, the disk) comes back as an event.
public actor Coordinator {
    /// What the shell keeps of one node: its connection and catalog (what it decides with is in `fleet.nodes`).
    struct NodeState {
        let config: ClusterConfig.Node
        let client: NodeClient
        let sid: String
        var objectInfo: JSONObject = [:]
        var classes: [String: NodeClass] = [:]
        /// Values of the node's upload combos (LoadImage's list…): files the node has of its own.
        var localFiles: Set<String> = []
        /// The node's combos that list its input folder (class → input → extensions seen listed): see
        /// `Coordinator+InputFolders`.
        var inputFolderCombos: [String: [String: Set<String>]] = [:]
        /// Extensions whose probe the node was given since it last came up.
        var probedExtensions: Set<String> = []
        var stats: JSONValue?
        /// Counts, last error, progress and utilisation, for operators.
        var record = NodeRecord()
    }

    typealias ActiveJob = FleetJob

    let config: ClusterConfig
    let store: any JobStore
    /// Uploads and the books of copies on nodes.
    public nonisolated let files: UploadStore
    /// Bytes Conductor moved between itself and nodes for jobs (fetched outputs and delivered copies).
    public internal(set) var bytesMoved: Int64 = 0
    /// Prometheus metrics, in this coordinator's own registry.
    public nonisolated let metrics: ConductorMetrics
    let hub: EventHub
    let logger: Logger
    var nodes: [String: NodeState] = [:]
    /// Jobs and nodes as the coordinator decides with them: changed only by its transitions.
    var fleet: FleetStateMachine
    /// The last store write queued: writes run one after another, in the order the transitions asked for them.
    var lastWrite: Task<Void, Never>?
    let http: HTTPClient
    let instanceID: String
    /// Node links to start and stop as an operator changes the fleet (the server's `FleetLinks` runs them).
    public nonisolated let linkChanges: AsyncStream<LinkChange>
    let linkChange: AsyncStream<LinkChange>.Continuation
    let started = ContinuousClock.now
    /// ComfyUI's priority counter, continued across restarts.
    var counter: Int64 = 0
    /// Why the store last failed to write (a full disk), until a write succeeds again: submits answer 503 with
    /// Retry-After and `/readyz` is not ready meanwhile.
    var storeWriteFailure: String?
    /// Nodes with a job being finalized (its history read off the event loop), and the events of those nodes that
    /// came meanwhile, in order: see `runEvents`.
    var heldEvents: [String: [NodeEvent]] = [:]
    var finalizingOn: [String: Int] = [:]
    /// Each node's deliveries and `POST /prompt`s, in dispatch order, apart from other nodes'.
    nonisolated let sends = NodeLanes(limit: 100_000)
    /// Each node's removals and interrupts, in the order decided (a waiting prompt is deleted before the running one is
    /// interrupted, so the node never starts it), apart from other nodes' and from its sends.
    nonisolated let controls = NodeLanes(limit: 100_000)
    /// Probing of a node's input-folder lists in flight, by node.
    var probing: [String: (task: Task<Void, Never>, since: ContinuousClock.Instant)] = [:]
    let dispatchSignals: AsyncStream<Void>
    let dispatchSignal: AsyncStream<Void>.Continuation
    /// The queue changed: clients are told its length by `runStatusBroadcasts`.
    let statusSignals: AsyncStream<Void>
    let statusSignal: AsyncStream<Void>.Continuation

    /// - Parameter http: the client toward nodes; it should not retry refused connections, so a dead
    ///   node is noticed at once rather than after a timeout.
    public init(
        config: ClusterConfig, store: any JobStore, files: UploadStore, http: HTTPClient, instanceID: String,
        metrics: ConductorMetrics = ConductorMetrics(), logger: Logger
    ) {
        self.config = config
        self.metrics = metrics
        self.store = store
        self.files = files
        self.logger = logger
        self.http = http
        self.instanceID = instanceID
        fleet = FleetStateMachine(config: config, instanceID: instanceID)
        hub = EventHub(bufferLimitBytes: config.limits.clientBufferBytes, metrics: metrics, logger: logger)
        (dispatchSignals, dispatchSignal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        (statusSignals, statusSignal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        (linkChanges, linkChange) = AsyncStream<LinkChange>.makeStream()
        for node in config.nodes {
            nodes[node.name] = Self.state(of: node, http: http, instanceID: instanceID, loadSeconds: config.checkpointLoadSeconds)
        }
    }

    func state(of node: ClusterConfig.Node) -> NodeState {
        Self.state(of: node, http: http, instanceID: instanceID, loadSeconds: config.checkpointLoadSeconds)
    }

    static func state(of node: ClusterConfig.Node, http: HTTPClient, instanceID: String, loadSeconds: Double) -> NodeState {
        NodeState(config: node, client: NodeClient(node: node, http: http), sid: "conductor-\(instanceID)-\(node.name)")
    }

    /// The unfinished jobs, as the state machine has them.
    var jobs: [String: FleetJob] { fleet.jobs }
    /// The fleet in order: cluster.json's nodes with the operator's run-time changes, then nodes added at run time.
    var nodeOrder: [String] { fleet.nodeOrder }
    var dispatcher: FleetDispatcher { fleet.dispatcher }

    /// Now, for an event.
    var moment: FleetStateMachine.Moment {
        FleetStateMachine.Moment(seconds: secondsSinceStart, epochMilliseconds: epochMilliseconds())
    }

    /// Conductor's client id on each node, for the node links.
    public var nodeLinks: [LinkChange.Link] {
        nodeOrder.compactMap { nodes[$0].map { LinkChange.Link(client: $0.client, sid: $0.sid) } }
    }

    /// Loads unfinished jobs from the store: queued ones wait again; ones that were on nodes are
    /// re-attached (the node's queue and history say later whether they still run or finished).
    public func restore() async throws {
        counter = try await store.lastSequence()
        let vramNeeds = try await store.vramNeeds()
        let changes = try await store.fleetChanges()
        let fleetNodes = changes.isEmpty ? config.nodes : config.fleet(with: changes)
        if !changes.isEmpty {
            nodes = Dictionary(uniqueKeysWithValues: fleetNodes.map { ($0.name, state(of: $0)) })
        }
        let restored = try await store.activeJobs().map { job in
            let graph = (try? PromptGraph(json: job.prompt)) ?? (try? PromptGraph(json: [:]))
            return (job: job, requirements: graph.map { requirements(of: job.prompt, graph: $0) } ?? JobRequirements())
        }
        fleet = FleetStateMachine(config: config, instanceID: instanceID, nodes: fleetNodes)
        fleet.restore(restored, draining: Set(changes.filter(\.draining).map(\.name)), vramNeeds: vramNeeds, at: secondsSinceStart)
        if !jobs.isEmpty { logger.info("restored jobs", metadata: ["jobs.count": "\(jobs.count)"]) }
    }

    /// Seconds since this coordinator started, on the monotonic clock.
    var secondsSinceStart: Double { (ContinuousClock.now - started).seconds }

    // MARK: Queue views

    /// Pending + running across the fleet, as ComfyUI's `queue_remaining`.
    public var queueRemaining: Int { jobs.count }

    /// The unfinished jobs on a node (any node when nil), unordered.
    func jobs(on name: String?) -> [ActiveJob] { fleet.jobs(on: name) }

    /// Queue order: `number`, then acceptance. The keys are read once and sorted beside the indices, so a long queue
    /// is not sorted by copying jobs around or parsing their numbers at every comparison.
    func ordered(_ list: [ActiveJob]) -> [ActiveJob] { FleetStateMachine.ordered(list) }

    public func queueJSON() -> JSONValue {
        let running = ordered(jobs.values.filter { $0.job.state == .running })
        let pending = ordered(jobs.values.filter { $0.job.state != .running })
        return [
            "queue_running": .array(running.map(\.job.queueItem.json)),
            "queue_pending": .array(pending.map(\.job.queueItem.json))
        ]
    }

    /// Tells every client the queue's new length, soon: see `runStatusBroadcasts`.
    func broadcastStatus() { statusSignal.yield() }

    /// Sends `status` to every client when the queue changes, at most once per `statusInterval`: the first change at
    /// once, the changes during the interval as one message with the length at its end.
    ///
    /// A ComfyUI node broadcasts each change, to its few clients. In front of a fleet each change is one message to
    /// every client, so a burst of submits (or of jobs ending) would be a burst of clients × changes messages that
    /// delays every job's progress; clients only use the latest length.
    public func runStatusBroadcasts() async {
        for await _ in statusSignals {
            await hub.broadcast(.status(queueRemaining: queueRemaining, sid: nil))
            try? await Task.sleep(for: Self.statusInterval)
        }
    }

    static let statusInterval = Duration.milliseconds(100)

    // MARK: Submitting

    /// `POST /prompt`: validate against the fleet, commit to SQLite, then answer.
    ///
    /// - Parameter principal: who submits when API keys are on (the key's name); per-client limits count by it,
    ///   else by client_id.
    public func submit(body: JSONValue, principal: String? = nil) async throws(SubmitRefusal) -> JSONValue {
        guard case .object(let request) = body else { throw .internal }
        if let refusal = overload(client: principal ?? request["client_id"]?.stringValue) { throw refusal }
        let assigned = counter
        counter += 1
        let number: JSONNumber
        if let explicit = request["number"] {
            guard let value = explicit.doubleValue ?? explicit.stringValue.flatMap({ Double($0) }) else { throw .internal }
            number = JSONNumber(value)
        } else if request["front"]?.isTruthy == true {
            number = JSONNumber(-assigned)
        } else {
            number = JSONNumber(assigned)
        }
        // Python's json reads NaN and Infinity, and ComfyUI would echo them bare in /queue and /history, where no
        // strict JSON parser reads them: refused here, in ComfyUI's 400 shape.
        if Self.containsNonFiniteLiteral(body) {
            throw .invalid([
                "error": .object(
                    PromptValidator.error(
                        "invalid_prompt", "Cannot execute because the prompt contains NaN or Infinity",
                        "NaN, Infinity and -Infinity are not JSON numbers")), "node_errors": [:]
            ])
        }
        guard let prompt = request["prompt"] else {
            throw .invalid([
                "error": .object(PromptValidator.error("no_prompt", "No prompt provided", "No prompt provided")),
                "node_errors": [:]
            ])
        }
        let promptID: String
        switch request["prompt_id"] {
        case .string(let s)? where !s.isEmpty: promptID = s
        case nil, .null?: promptID = UUID().uuidString.lowercased()
        default:
            throw .invalid([
                "error": .object(
                    PromptValidator.error(
                        "invalid_prompt_id", "Invalid prompt_id",
                        "prompt_id must be a string")), "node_errors": [:]
            ])
        }
        let known = (try? await store.contains(id: promptID)) ?? false
        if jobs[promptID] != nil || known {
            throw .invalid([
                "error": .object(
                    PromptValidator.error(
                        "invalid_prompt_id", "Invalid prompt_id",
                        "prompt_id \(promptID) already exists")), "node_errors": [:]
            ])
        }
        let targets = request["partial_execution_targets"]?.arrayValue?.compactMap(\.stringValue)
        var outputs: [String] = []
        var nodeErrors = JSONObject()
        if fleetCatalog().isEmpty {
            // No node has ever described itself: accept, and let the node validate at dispatch.
            guard let graph = try? PromptGraph(json: prompt) else {
                throw .invalid([
                    "error": .object(PromptValidator.error("invalid_prompt", "Cannot execute because the prompt is not an object.", "")),
                    "node_errors": [:]
                ])
            }
            outputs = graph.nodes.map(\.id)
        } else {
            // Upload widgets name files: Conductor's own, another node's outputs, or a node's own files.
            let references = fileReferences(in: prompt)
            func validated() -> PromptValidator.Outcome {
                let local = nodes.values.reduce(into: Set<String>()) { $0.formUnion($1.localFiles) }
                let validator = PromptValidator(catalog: fleetCatalog(), context: CatalogContext()) { references[$0] != nil || local.contains($0) }
                return validator.validate(prompt, partialExecutionTargets: targets)
            }
            var result = validated()
            // Refused while the nodes' lists were not yet probed for a kind of upload (one just made): judged again
            // once their lists say where such files fit (see Coordinator+InputFolders).
            if result.hasErrors, probesPending() {
                await awaitProbes()
                result = validated()
            }
            switch result {
            case .rejected(let failure): throw .invalid(failure)
            case .accepted(_, let good, let errors):
                outputs = good
                nodeErrors = errors
            }
        }
        guard let graph = try? PromptGraph(json: prompt) else { throw .internal }
        let requirements = requirements(of: prompt, graph: graph)
        // Each input may exist somewhere in the fleet, yet no single node have all of them.
        let described = fleet.capabilitySnapshots().filter { !$0.classTypes.isEmpty }
        if !described.isEmpty, !described.contains(where: { Scheduler.canRun(requirements, on: $0) }) {
            let reasons = Scheduler.place(requirements, on: described, knobs: dispatcher.knobs).candidates.map { "\($0.node): \($0.reason)" }
            throw .invalid([
                "error": .object(
                    PromptValidator.error(
                        "prompt_outputs_failed_validation", "Prompt outputs failed validation",
                        "No node of the fleet can run this prompt (\(reasons.joined(separator: "; ")))")), "node_errors": [:]
            ])
        }
        var extra = request["extra_data"]?.objectValue ?? JSONObject()
        let clientID = request["client_id"]?.stringValue
        if let clientID = request["client_id"] { extra["client_id"] = clientID }
        extra.removeValue(forKey: "auth_token_comfy_org")
        extra.removeValue(forKey: "api_key_comfy_org")
        extra["create_time"] = .number(JSONNumber(epochMilliseconds()))
        let job: Job
        do {
            job = try await store.insert(
                id: promptID, number: number, clientID: clientID, principal: principal, prompt: prompt, extraData: extra,
                outputs: outputs, createdAt: epochMilliseconds())
        } catch {
            // Two submits of one prompt_id at once both pass the check above; the store keeps the first.
            let stored = (try? await store.contains(id: promptID)) ?? false
            if jobs[promptID] != nil || stored {
                throw .invalid([
                    "error": .object(
                        PromptValidator.error(
                            "invalid_prompt_id", "Invalid prompt_id",
                            "prompt_id \(promptID) already exists")), "node_errors": [:]
                ])
            }
            logger.error("could not store a job", metadata: ["prompt.id": "\(promptID)", "error": "\(error)"])
            guard let failure = store.temporaryFailure(error) else { throw .internal }
            storeWriteFailure = "\(error)"
            throw .unavailable(
                [
                    "error": .object(
                        PromptValidator.error(
                            failure.type, "Conductor cannot store the prompt: \(failure.message)",
                            "Retry after \(config.limits.retryAfterSeconds) s")), "node_errors": [:]
                ], retryAfterSeconds: config.limits.retryAfterSeconds)
        }
        storeWriteFailure = nil
        await apply(.submitted(job, requirements, principal: principal))
        return ["prompt_id": .string(promptID), "number": .number(number), "node_errors": .object(nodeErrors)]
    }

    static func containsNonFiniteLiteral(_ value: JSONValue) -> Bool {
        switch value {
        case .number(let number): number.literal.hasSuffix("NaN") || number.literal.hasSuffix("Infinity")
        case .array(let items): items.contains(where: containsNonFiniteLiteral)
        case .object(let object): object.contains { containsNonFiniteLiteral($0.value) }
        case .null, .bool, .string: false
        }
    }

    public var retryAfterSeconds: Int { config.limits.retryAfterSeconds }

    /// Why a submit was refused, in ComfyUI's error shape (`{"error": {...}, "node_errors": {...}}`); the HTTP layer
    /// renders it (`ConductorRoutes`).
    public enum SubmitRefusal: Error, Sendable {
        /// The prompt is wrong (400).
        case invalid(JSONValue)
        /// Conductor cannot take it now: the queue, the client's share of it, or the disk is full (503, Retry-After).
        case unavailable(JSONValue, retryAfterSeconds: Int)
        /// Conductor failed (500, no body).
        case `internal`
    }

    /// The 503 a submit gets when the fleet queue, or the client's share of it, is full; nil to accept.
    func overload(client: String?) -> SubmitRefusal? {
        let limits = config.limits
        guard let problem = fleet.overload(client: client) else { return nil }
        return .unavailable(
            [
                "error": .object(PromptValidator.error("queue_full", problem, "Retry after \(limits.retryAfterSeconds) s")),
                "node_errors": [:]
            ], retryAfterSeconds: limits.retryAfterSeconds)
    }

    /// The union of what the fleet's nodes offer, with combo lists merged; nodes that went down
    /// still count, so a job for them is accepted and waits.
    func fleetCatalog() -> [String: NodeClass] {
        var merged = JSONObject()
        for name in nodeOrder {
            guard let node = nodes[name] else { continue }
            for (className, info) in node.objectInfo {
                merged[className] = merged[className].map { FleetMerge.mergeClass($0, info) } ?? info
            }
        }
        var catalog: [String: NodeClass] = [:]
        for (name, info) in addingStoredInputs(merged) { catalog[name] = NodeClass(name: name, objectInfo: info) }
        return catalog
    }

}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

import ComfyWire
import ConductorCore
import Foundation
import Logging
import NIOHTTP1

/// Why an operator's action was refused; the admin routes render it (`{"error": "…"}` with its status).
public enum AdminRefusal: Error, Sendable {
    /// The body is not what the action takes (400).
    case invalid(String)
    /// No such node or job (404).
    case notFound(String)
    /// The node or job is not in a state the action applies to (409).
    case conflict(String)
    /// The store could not record it (500).
    case failed(String)
    /// A job run again was refused as a submit would be.
    case submit(Coordinator.SubmitRefusal)
}

/// The operator's view of the fleet (the admin API and the dashboard) and its actions: drain, requeue, cancel.
extension Coordinator {
    // MARK: Nodes

    /// Every node with its live state, in configuration order.
    public func nodesJSON() -> JSONValue {
        let now = Date().timeIntervalSince1970
        let speeds = effectiveSpeeds()
        return .array(nodeOrder.compactMap { nodeJSON($0, now: now, speed: speeds[$0]) })
    }

    func nodeJSON(_ name: String, now: Double, speed: Double?) -> JSONValue? {
        guard let node = nodes[name], let state = fleet.nodes[name] else { return nil }
        let mine = jobs(on: name)
        let running = mine.filter { $0.job.state == .running }.sorted { ($0.startedAt ?? 0) < ($1.startedAt ?? 0) }
        let current: JSONValue =
            running.first.map { active in
                var object = Self.activeJobJSON(active)
                object["progress"] = progressJSON(of: active, on: node)
                return .object(object)
            } ?? .null
        let vramUsed = state.vramTotal > 0 ? state.vramTotal - state.vramFree : 0
        let lastError: JSONValue = node.record.lastError.map { ["message": .string($0.message), "at": .number(JSONNumber($0.at))] } ?? .null
        return [
            "name": .string(name),
            "url": .string(node.config.url),
            "health": .string(state.effectiveHealth.rawValue),
            "websocket": .bool(state.webSocketConnected),
            "draining": .bool(state.draining),
            "vram": [
                "used": .number(JSONNumber(vramUsed)), "total": .number(JSONNumber(state.vramTotal)),
                "free": .number(JSONNumber(state.vramFree))
            ],
            "outstanding": [
                "waiting": .int(mine.count - running.count), "running": .int(running.count),
                "max": .int(node.config.maxOutstanding)
            ],
            "current": current,
            "checkpoint": .string(orNull: state.loadedCheckpoint),
            "planned_checkpoint": .string(orNull: dispatcher.plan[name]),
            // What the scheduler uses, and how sure it is: `measured` false = assumed (the fleet's typical measured
            // node, scaled by what the two declare), until this node's own jobs measure it.
            "speed": [
                "units_per_second": .double(speed ?? state.speed.unitsPerSecond), "declared": .double(node.config.speed),
                "measured": .bool(state.speed.samples > 0),
                "samples": .int(state.speed.samples), "relative_error": state.speed.relativeError.map(JSONValue.double) ?? .null
            ],
            "checkpoint_load": ["seconds": .double(state.loadSeconds.seconds), "samples": .int(state.loadSeconds.samples)],
            "jobs": ["done": .int(node.record.done), "failed": .int(node.record.failed), "interrupted": .int(node.record.interrupted)],
            "last_error": lastError,
            "utilisation": [
                "bucket_seconds": .double(node.record.utilisation.bucketSeconds),
                "shares": .array(
                    node.record.utilisation.shares(at: now).map { share in
                        share.map { .double(($0 * 1000).rounded() / 1000) } ?? .null
                    })
            ]
        ]
    }

    /// What each workflow shape was seen to take (`RunTimeModel`), most jobs first.
    func runTimesJSON() -> JSONValue {
        .array(
            dispatcher.runTimes.shapes.sorted { ($0.value.samples, $1.key) > ($1.value.samples, $0.key) }.map { shape, known in
                [
                    "shape": .string(shape), "factor": .double(known.factor), "samples": .int(known.samples),
                    "relative_error": known.relativeError.map(JSONValue.double) ?? .null
                ]
            })
    }

    func progressJSON(of active: ActiveJob, on node: NodeState) -> JSONValue {
        guard let progress = node.record.progress, progress.promptID == active.job.id else { return .null }
        return ["value": .double(progress.value), "max": .double(progress.max), "node": .string(orNull: progress.graphNode)]
    }

    /// Drains a node (it finishes what it has and takes nothing new) or puts it back to work; nil for an unknown node.
    /// The drain is kept across restarts.
    public func setDraining(_ name: String, _ draining: Bool) async -> JSONValue? {
        guard nodes[name] != nil else { return nil }
        await apply(.drain(node: name, draining))
        return nodeJSON(name, now: Date().timeIntervalSince1970, speed: effectiveSpeeds()[name])
    }

    /// Adds a node at run time (the same object as one of cluster.json's `nodes`): kept across restarts, linked at
    /// once, and given work as soon as its first polls say it is up.
    public func addNode(_ json: JSONValue) async throws(AdminRefusal) -> JSONValue {
        let node: ClusterConfig.Node
        do {
            node = try ClusterConfig.Node(json: json)
        } catch {
            throw .invalid("\(error.key): \(error.problem)")
        }
        guard nodes[node.name] == nil else { throw .conflict("a node named \(node.name) is already in the fleet") }
        do {
            try await store.saveAddedNode(node)
        } catch {
            throw .failed("could not record the node: \(error)")
        }
        guard nodes[node.name] == nil else { throw .conflict("a node named \(node.name) is already in the fleet") }
        let added = state(of: node)
        nodes[node.name] = added
        await apply(.nodeAdded(node))
        linkChange.yield(.start(.init(client: added.client, sid: added.sid)))
        logger.info("node added", metadata: ["node.name": "\(node.name)", "node.url": "\(node.url)"])
        return nodeJSON(node.name, now: Date().timeIntervalSince1970, speed: effectiveSpeeds()[node.name]) ?? .null
    }

    /// Removes a node at run time, kept across restarts: its link closes, and the jobs it had go back to the fleet
    /// queue (not counted as failures); the node is asked to drop them (best effort). To let them finish there
    /// instead, drain the node first and remove it once it is idle.
    public func removeNode(_ name: String) async throws(AdminRefusal) -> JSONValue {
        guard nodes[name] != nil else { throw .notFound("no node \(name)") }
        do {
            try await store.saveRemovedNode(name)
        } catch {
            throw .failed("could not record the removal: \(error)")
        }
        guard nodes[name] != nil else { throw .notFound("no node \(name)") }
        let mine = ordered(jobs(on: name).filter { !$0.finalizing })
        // The node's client stays until the state machine's last requests to the node (drop these jobs) are sent.
        await apply(.nodeRemoved(name))
        nodes[name] = nil
        linkChange.yield(.stop(name: name))
        sends.close(name)
        try? await files.forgetCopies(on: name)
        return ["removed": .string(name), "requeued": .array(mine.map { .string($0.job.id) })]
    }

    // MARK: Jobs

    /// Unfinished jobs (running, then waiting on a node, then queued in Conductor, each in queue order) and the
    /// newest finished ones, each with its node and the scheduler's explanation.
    public func jobsJSON(historyLimit: Int, queueLimit: Int = 1000) async throws -> JSONValue {
        let rank: [Job.State: Int] = [.running: 0, .dispatched: 1, .queued: 2]
        let unfinished = ordered(Array(jobs.values)).sorted { rank[$0.job.state]! < rank[$1.job.state]! }
        let queue = unfinished.prefix(queueLimit).map { active in
            var object = Self.activeJobJSON(active)
            if let name = active.job.node, let node = nodes[name] { object["progress"] = progressJSON(of: active, on: node) }
            return object
        }
        let counts: JSONValue = [
            "queued": .int(unfinished.filter { $0.job.state == .queued }.count),
            "dispatched": .int(unfinished.filter { $0.job.state == .dispatched }.count),
            "running": .int(unfinished.filter { $0.job.state == .running }.count)
        ]
        let finished = try await store.recentlyFinished(limit: historyLimit)
        // A job being finalized is briefly in both; history wins.
        let done = Set(finished.map(\.id))
        return [
            "counts": counts,
            "queue": .array(queue.filter { !done.contains($0["id"]?.stringValue ?? "") }.map(JSONValue.object)),
            "history": .array(finished.map { .object(Self.finishedJobJSON($0)) })
        ]
    }

    /// One job, unfinished or finished, with its prompt; nil when Conductor never had it (or history forgot it).
    public func jobJSON(id: String) async throws -> JSONValue? {
        if let active = jobs[id] {
            var object = Self.activeJobJSON(active)
            if let name = active.job.node, let node = nodes[name] { object["progress"] = progressJSON(of: active, on: node) }
            object["prompt"] = active.job.prompt
            return .object(object)
        }
        guard let finished = try await store.finishedJob(id: id) else { return nil }
        var object = Self.finishedJobJSON(finished)
        object["prompt"] = finished.entry.prompt.prompt
        object["status"] = finished.entry.status?.json ?? .null
        return .object(object)
    }

    /// A placement record as the admin API shows it: keys in snake_case, as every other admin field (the store keeps
    /// the record as `Placement` encodes it, so rows of every version read alike).
    static func placementJSON(_ text: String?) -> JSONValue {
        text.flatMap { try? JSONValue(parsing: $0) }.map(snakeCased) ?? .null
    }

    static func snakeCased(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            var renamed = JSONObject()
            for (key, inner) in object { renamed[snakeCase(key)] = snakeCased(inner) }
            return .object(renamed)
        case .array(let items): return .array(items.map(snakeCased))
        default: return value
        }
    }

    /// `predictedRunSeconds` → `predicted_run_seconds`.
    static func snakeCase(_ key: String) -> String {
        key.reduce(into: "") { out, character in
            if character.isUppercase {
                out += "_" + character.lowercased()
            } else {
                out.append(character)
            }
        }
    }

    static func activeJobJSON(_ active: ActiveJob) -> JSONObject {
        let job = active.job
        return [
            "id": .string(job.id), "state": .string(job.state.rawValue), "node": .string(orNull: job.node),
            "client_id": .string(orNull: job.clientID), "number": .number(job.number),
            "created_at": .number(JSONNumber(job.createdAt)), "checkpoint": .string(orNull: active.requirements.checkpoint),
            "executing": .string(orNull: active.executingNode), "placement": placementJSON(placementText(of: active)),
            "lost_with_nodes": .int(active.nodeFailures)
        ]
    }

    /// success, failed or interrupted, from a history status.
    static func outcome(of status: HistoryStatus?) -> String {
        guard let status else { return "failed" }
        if status.statusStr == "success" { return "success" }
        return status.messages.contains { $0.event == "execution_interrupted" } ? "interrupted" : "failed"
    }

    /// The exception message of a failed job.
    static func errorMessage(of status: HistoryStatus?) -> String? {
        status?.messages.last { $0.event == "execution_error" }?.data["exception_message"]?.stringValue
    }

    /// Run time on the node, from its own execution_start and end timestamps.
    static func runTime(of status: HistoryStatus?) -> Duration? {
        let messages = status?.messages ?? []
        guard let start = messages.first(where: { $0.event == "execution_start" })?.data["timestamp"]?.numberValue?.int64,
            let end = messages.last(where: { ["execution_success", "execution_error", "execution_interrupted"].contains($0.event) })?
                .data["timestamp"]?.numberValue?.int64, end >= start
        else { return nil }
        return .milliseconds(end - start)
    }

    static func finishedJobJSON(_ finished: FinishedJob) -> JSONObject {
        let item = finished.entry.prompt
        let checkpoint = (try? PromptGraph(json: item.prompt)).flatMap { JobRequirements(prompt: $0).checkpoint }
        var outputs: [JSONValue] = []
        for (_, output) in finished.entry.outputs {
            for key in ["images", "gifs", "video", "audio"] {
                for file in output[key]?.arrayValue ?? [] where file["filename"]?.stringValue != nil {
                    outputs.append([
                        "filename": file["filename"] ?? .null, "subfolder": file["subfolder"] ?? "",
                        "type": file["type"] ?? "output"
                    ])
                }
            }
        }
        let seconds = runTime(of: finished.entry.status)?.seconds
        return [
            "id": .string(finished.id), "state": .string(outcome(of: finished.entry.status)), "node": .string(orNull: finished.node),
            "client_id": item.extraData["client_id"] ?? .null, "number": .number(item.number),
            "created_at": item.extraData["create_time"] ?? .null, "completed_at": .number(JSONNumber(finished.completedAt)),
            "checkpoint": .string(orNull: checkpoint), "run_seconds": seconds.map(JSONValue.double) ?? .null,
            "error": .string(orNull: errorMessage(of: finished.entry.status)),
            "placement": placementJSON(finished.placement), "outputs": .array(outputs)
        ]
    }

    /// Sends a job through placement again. A job waiting on a node comes back to Conductor's queue (say, to leave
    /// a node being drained); a finished one runs again as a new prompt with the same client. A job that runs
    /// is refused: cancel it first.
    public func requeueJob(_ id: String) async throws(AdminRefusal) -> JSONValue {
        if let active = jobs[id] {
            switch active.job.state {
            case .queued:
                throw .conflict("\(id) is already waiting in Conductor's queue")
            case .running:
                throw .conflict("\(id) is running on \(active.job.node ?? "a node"); cancel it first")
            case .dispatched:
                guard let name = active.job.node, let node = nodes[name], !active.finalizing else {
                    throw .conflict("\(id) is finishing")
                }
                _ = try? await node.client.send(.POST, "/queue", json: ["delete": [.string(id)]])
                if let queue = try? await node.client.get("/queue").json,
                    queue["queue_running"]?.arrayValue?.contains(where: { $0[1]?.stringValue == id }) == true
                {
                    throw .conflict("\(id) started on \(name) meanwhile; cancel it first")
                }
                guard let current = jobs[id], current.job.node == name, current.job.state == .dispatched else {
                    throw .conflict("\(id) moved meanwhile")
                }
                // Being read from the node's history (a poll saw it leave the node's queue, after the delete above): that
                // read finds no end and puts it back in the queue itself.
                await apply(.requeue(job: id, node: name))
                return ["prompt_id": .string(id), "requeued": "queued"]
            }
        }
        guard let finished = try? await store.finishedJob(id: id) else { throw .notFound("no job \(id)") }
        var extra = finished.entry.prompt.extraData
        let clientID = extra.removeValue(forKey: "client_id")
        extra.removeValue(forKey: "create_time")
        var body: JSONObject = ["prompt": finished.entry.prompt.prompt, "extra_data": .object(extra)]
        if let clientID { body["client_id"] = clientID }
        let answer: JSONValue
        do { answer = try await submit(body: .object(body)) } catch { throw .submit(error) }
        let newID = answer["prompt_id"] ?? .null
        logger.info("finished job run again by an operator", metadata: ["prompt.id": "\(newID)", "requeued.from": "\(id)"])
        return ["prompt_id": newID, "requeued": "new", "requeued_from": .string(id)]
    }

    /// Cancels a job: removed if it waits (in Conductor or on its node), interrupted if it runs.
    public func cancelJob(_ id: String) async throws(AdminRefusal) -> JSONValue {
        guard let active = jobs[id] else {
            if (try? await store.finishedJob(id: id)) != nil { throw .conflict("\(id) has already finished") }
            throw .notFound("no job \(id)")
        }
        if active.job.state != .running {
            await editQueue(clear: false, delete: [id])
            if jobs[id] == nil { return ["prompt_id": .string(id), "cancelled": "deleted"] }
        }
        // It runs, or it started on its node while being deleted there.
        guard let current = jobs[id], let name = current.job.node, let node = nodes[name] else {
            throw .conflict("\(id) is finishing")
        }
        _ = try? await node.client.send(.POST, "/interrupt", json: ["prompt_id": .string(id)])
        logger.info("interrupted by an operator", metadata: ["prompt.id": "\(id)", "node.name": "\(name)"])
        return ["prompt_id": .string(id), "cancelled": "interrupted", "node": .string(name)]
    }

    /// What the dashboard shows: every node, the fleet queue (its head) and the newest finished jobs.
    public func dashboardJSON(recent: Int = 12, queueLimit: Int = 50) async throws -> JSONValue {
        let nodes = nodesJSON()
        guard case .object(var object) = try await jobsJSON(historyLimit: recent, queueLimit: queueLimit) else { return .null }
        object["nodes"] = nodes
        return .object(object)
    }

    // MARK: Books kept for operators (called from the event handlers)

    /// Keeps the latest progress of a node's job.
    func noteProgress(_ message: ServerMessage, node: String) {
        guard case .progress(let value, let max, let promptID?, let graphNode) = message else { return }
        nodes[node]?.record.progress = .init(promptID: promptID, graphNode: graphNode, value: value.double ?? 0, max: max.double ?? 0)
    }

    /// A job ended on a node: its counts, last error, checkpoint swaps and run time.
    func recordFinished(_ active: ActiveJob, entry: HistoryEntry, node name: String, loadedBefore: String?) {
        guard var node = nodes[name] else { return }
        let outcome = Self.outcome(of: entry.status)
        switch outcome {
        case "success": node.record.done += 1
        case "interrupted": node.record.interrupted += 1
        default:
            node.record.failed += 1
            node.record.lastError = .init(
                message: Self.errorMessage(of: entry.status) ?? "job \(active.job.id) failed",
                at: epochMilliseconds())
        }
        if node.record.progress?.promptID == active.job.id { node.record.progress = nil }
        let checkpoint = active.requirements.checkpoint
        if outcome == "success", let checkpoint, checkpoint != loadedBefore { metrics.recordCheckpointSwap(node: name) }
        nodes[name] = node
        metrics.recordJob(
            node: name, checkpoint: checkpoint, status: outcome,
            duration: outcome == "success" ? Self.runTime(of: entry.status) : nil)
    }

    /// A node went down: that is its last error until a job fails there.
    func recordHealth(_ health: NodeHealth, of name: String) {
        guard health == .down else { return }
        nodes[name]?.record.lastError = .init(message: "stopped answering its polls (down)", at: epochMilliseconds())
    }

    /// One utilisation sample of a node (taken at each of its polls): running a job or not.
    func sampleUtilisation(of name: String) {
        let busy = jobs(on: name).contains { $0.job.state == .running }
        nodes[name]?.record.utilisation.record(busy: busy, at: Date().timeIntervalSince1970)
    }

    /// A job started on its node: how long it waited since its submission.
    func recordStarted(_ job: Job) {
        let waited = epochMilliseconds() - job.createdAt
        if waited >= 0 { metrics.recordQueueWait(.milliseconds(waited)) }
    }

    /// The metrics in Prometheus' text format, with the gauges of the fleet's state brought up to now.
    public func metricsExposition() async -> [UInt8] {
        var queued = 0, dispatched = 0, running = 0
        for active in jobs.values {
            switch active.job.state {
            case .queued: queued += 1
            case .dispatched: dispatched += 1
            case .running: running += 1
            }
        }
        metrics.setQueue(queued: queued, dispatched: dispatched, running: running)
        for name in nodeOrder {
            guard let node = fleet.nodes[name] else { continue }
            metrics.setNode(
                name, health: node.effectiveHealth.rawValue, draining: node.draining,
                vramUsed: node.vramTotal > 0 ? node.vramTotal - node.vramFree : 0, vramTotal: node.vramTotal,
                outstanding: jobs(on: name).count)
        }
        metrics.setBytesMoved(bytesMoved)
        metrics.setWebSocketClients(await hub.count)
        return metrics.exposition()
    }
}

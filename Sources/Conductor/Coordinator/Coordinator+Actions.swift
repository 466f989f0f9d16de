import ComfyWire
import ConductorCore
import Foundation
import Logging
import NIOHTTP1

extension Coordinator {
    /// `POST /queue`: delete or clear waiting jobs wherever they wait; a running job is never touched.
    public func editQueue(clear: Bool, delete: [String]) async {
        var targets = Set(delete)
        if clear { targets.formUnion(jobs.values.filter { $0.job.state != .running }.map(\.job.id)) }
        var deletable: [String] = []
        for id in targets {
            guard let active = jobs[id], active.job.state != .running, !active.finalizing else { continue }
            if active.job.state == .dispatched, let nodeName = active.job.node, let node = nodes[nodeName] {
                // Ask the node first; if it already started, the job runs on and stays.
                _ = try? await node.client.send(.POST, "/queue", json: ["delete": [.string(id)]])
                if let queue = try? await node.client.get("/queue").json,
                    queue["queue_running"]?.arrayValue?.contains(where: { $0[1]?.stringValue == id }) == true
                {
                    continue
                }
            }
            deletable.append(id)
        }
        if !deletable.isEmpty { await apply(.deleteWaiting(deletable.sorted())) }
    }

    /// `POST /interrupt`. With a prompt_id: the node running that prompt, only if it is running.
    /// Without one: every prompt running anywhere in the fleet (ComfyUI's global interrupt, fleet-wide).
    public func interrupt(promptID: String?) async {
        let running = jobs.values.filter { $0.job.state == .running && (promptID == nil || $0.job.id == promptID) }
        for active in running {
            guard let name = active.job.node, let node = nodes[name] else { continue }
            _ = try? await node.client.send(.POST, "/interrupt", json: ["prompt_id": .string(active.job.id)])
        }
    }

    /// `POST /free`: to every node that is up.
    public func free(_ body: JSONValue) async {
        for client in upNodes {
            _ = try? await client.send(.POST, "/free", json: body)
        }
    }

    /// `GET /history`'s body, spliced from the stored entries (see `JobStore.historyPageBody`).
    public nonisolated func historyBody(maxItems: Int?, offset: Int) async throws -> [UInt8] {
        try await store.historyPageBody(maxItems: maxItems, offset: offset)
    }

    /// `GET /history/{id}`'s body, spliced from the stored entry.
    public nonisolated func historyBody(promptID: String) async throws -> [UInt8] {
        try await store.historyEntryBody(id: promptID)
    }

    public func editHistory(clear: Bool, delete: [String]) async throws {
        if clear { try await store.clearHistory() }
        try await store.deleteHistory(ids: delete)
    }

    /// The jobs API over the fleet queue and the merged history.
    public func jobsListing(historyLimit: Int = 10_000) async throws -> JobsListing {
        let running = ordered(jobs.values.filter { $0.job.state == .running }).map(\.job.queueItem)
        let pending = ordered(jobs.values.filter { $0.job.state != .running }).map(\.job.queueItem)
        let history = try await store.historyPage(maxItems: historyLimit, offset: -1)
        return JobsListing(pending: pending, running: running, history: history)
    }

    // MARK: Nodes for the surface

    public var nodeNames: [String] { nodeOrder }

    /// Each node's health as Conductor judges it for taking work (up needs its WebSocket too).
    public func nodeHealth() -> [String: NodeHealth] {
        fleet.nodes.mapValues(\.effectiveHealth)
    }

    /// Clients of nodes that are up, in configuration order.
    public var upNodes: [NodeClient] { nodeOrder.filter { fleet.nodes[$0]?.health == .up }.compactMap { nodes[$0]?.client } }

    /// The node an output subfolder names (`<node>/<its subfolder>`), and the subfolder on that node.
    public func outputSource(subfolder: String) -> (client: NodeClient, subfolder: String)? {
        guard let (name, nodeSubfolder) = OutputNames.resolve(subfolder: subfolder, nodes: nodeOrder), let client = nodes[name]?.client
        else { return nil }
        return (client, nodeSubfolder)
    }

    /// `/readyz`: the store answers a query and at least one node is up.
    public func isReady() async -> (ready: Bool, reason: String) {
        do {
            _ = try await store.lastSequence()
        } catch {
            return (false, "store unavailable: \(error)")
        }
        if let failure = storeWriteFailure {
            do {
                try await store.probeWrite()
                storeWriteFailure = nil
            } catch {
                return (false, "store cannot write: \(failure)")
            }
        }
        let up = nodeOrder.filter { fleet.nodes[$0]?.health == .up && !isUnlinked($0) }
        return up.isEmpty ? (false, "no node is up") : (true, "ready: \(up.count) of \(nodeOrder.count) nodes up")
    }

    /// `/object_info` of the fleet.
    public func fleetObjectInfo() -> JSONObject {
        presentingUploads(FleetMerge.objectInfo(nodeOrder.compactMap { nodes[$0]?.objectInfo }))
    }

    public func fleetSystemStats() -> JSONValue {
        let base = nodeOrder.compactMap { nodes[$0]?.stats?["system"]?.objectValue }.first ?? [:]
        var system = base
        system["os"] = .string(base["os"]?.stringValue ?? "linux")
        system["argv"] = ["conductor", "serve"]
        system["conductor"] = [
            "nodes": .array(
                nodeOrder.map { name in
                    return [
                        "name": .string(name), "health": .string(fleet.nodes[name]?.health.rawValue ?? "down"),
                        "queue": .int(jobs(on: name).count)
                    ]
                })
        ]
        let stats = nodeOrder.compactMap { name in nodes[name]?.stats.map { (name: name, stats: $0) } }
        return FleetMerge.systemStats(system: system, nodes: stats)
    }

    /// The running job of a client, and its executing graph node, for a reconnecting socket.
    func executingNode(of sid: String) -> String? {
        jobs.values.first { $0.job.clientID == sid && $0.job.state == .running }?.executingNode
    }

    /// A client WebSocket arrives: its initial status (and the executing node of its running job).
    func connectClient(sid: String) async -> (id: UUID, outbox: EventHub.Outbox) {
        let connection = await hub.connect(sid: sid)
        await hub.send(.status(queueRemaining: queueRemaining, sid: sid), to: sid)
        if let node = executingNode(of: sid) {
            await hub.send(.executing(node: node, displayNode: nil, promptID: nil), to: sid)
        }
        await hub.replayEnds(to: sid)
        return connection
    }

    /// The ends of jobs finished in the last moments before this coordinator started (by another coordinator, or by
    /// this one before a restart), kept for their clients' next connection: a client whose socket dropped with the
    /// coordinator that told it still hears them (see `EventHub.recentEnds`).
    func keepRecentEnds() async {
        let since = epochMilliseconds() - Int64(EventHub.endsKeptFor.components.seconds * 1000)
        guard let finished = try? await store.finished(since: since) else { return }
        for job in finished {
            guard let owner = job.entry.prompt.extraData["client_id"]?.stringValue else { continue }
            if let last = job.entry.status?.messages.last(where: {
                ["execution_success", "execution_error", "execution_interrupted"].contains($0.event)
            }) {
                await hub.keepEnd(.other(type: last.event, data: .object(last.data)), for: owner)
            }
            await hub.keepEnd(.executing(node: nil, displayNode: nil, promptID: job.id), for: owner)
        }
    }

    /// A client's first frame: a `feature_flags` message is stored and answered with Conductor's features.
    func clientSaid(_ text: String, sid: String, id: UUID) async {
        guard let message = try? JSONValue(parsing: text), message["type"]?.stringValue == "feature_flags",
            let flags = message["data"]?.objectValue
        else { return }
        await hub.setFeatureFlags(flags, sid: sid, id: id)
        await hub.send(.featureFlags(Self.features), to: sid)
    }

    func disconnectClient(sid: String, id: UUID) async {
        await hub.disconnect(sid: sid, id: id)
    }

    /// Conductor's `/features`, as a ComfyUI v0.8.0 node answers it.
    static let features: JSONObject = [
        "supports_preview_metadata": true, "max_upload_size": .int(100 * 1024 * 1024),
        "extension": ["manager": ["supports_v4": true]]
    ]

    /// The placement record of a job, for operators.
    public func placement(of id: String) -> String? { jobs[id].flatMap(Self.placementText(of:)) }

    /// A job's placement record as JSON text: this run's, else the one the store kept from an earlier run.
    static func placementText(of active: ActiveJob) -> String? {
        active.placement.map(placementText) ?? active.job.placement
    }

    /// Stops every client socket (shutdown).
    public func closeClients() async { await hub.closeAll() }
}

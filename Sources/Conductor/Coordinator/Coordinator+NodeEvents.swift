import ComfyWire
import ConductorCore
import Foundation
import NIOHTTP1
import Logging

extension Coordinator {
    /// Most events of one node kept while a job of its is finalized; beyond it the node's events are dropped (and
    /// counted) until its history fetch ends. A dropped message costs a client a progress step or a preview; a job's
    /// end is still learned from the node's `/queue` and `/history`.
    static let heldEventLimit = 10_000

    /// Folds the node links' events into the coordinator, in order, and runs the nodes' send lanes. Runs until the
    /// stream ends. While a job of a node is finalized (its history read from the node, off this loop), that node's
    /// events wait in order behind it; other nodes' events go on.
    public func runEvents(_ events: AsyncStream<NodeEvent>) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.sends.run() }
            for await event in events {
                if heldEvents[event.node] != nil {
                    hold(event)
                } else {
                    await handle(event)
                }
            }
            group.cancelAll()
        }
    }

    func hold(_ event: NodeEvent) {
        guard let held = heldEvents[event.node], held.count < Self.heldEventLimit else {
            metrics.recordDroppedNodeEvent(node: event.node)
            return
        }
        heldEvents[event.node]?.append(event)
    }

    /// A finalize of the node ended: once none is left, the events that waited are folded, in order.
    func releaseEvents(of node: String) async {
        finalizingOn[node, default: 1] -= 1
        guard finalizingOn[node] == 0 else { return }
        finalizingOn[node] = nil
        while finalizingOn[node] == nil, let next = heldEvents[node]?.first {
            heldEvents[node]?.removeFirst()
            await handle(next)
        }
        if finalizingOn[node] == nil { heldEvents[node] = nil }
    }

    func handle(_ event: NodeEvent) async {
        switch event {
        case .message(let node, let message): await relay(message, from: node)
        case .binary(let node, let bytes): await relayBinary(bytes, from: node)
        case .webSocket(let node, let connected):
            nodes[node]?.webSocketConnected = connected
            nodes[node]?.webSocketLostAt = connected ? nil : .now
            if connected { scheduleDispatch() } else { nodes[node]?.currentPrompt = nil }
        case .stats(let node, let stats):
            applyStats(stats, to: node)
            sampleUtilisation(of: node)
        case .queue(let node, let queue, let asked): await reconcile(queue, on: node, asked: asked)
        case .objectInfo(let node, let info): applyObjectInfo(info, to: node)
        case .health(let node, let health): await applyHealth(health, to: node)
        }
    }

    func applyStats(_ stats: JSONValue, to name: String) {
        guard var node = nodes[name] else { return }
        node.stats = stats
        if let device = stats["devices"]?[0] {
            node.vramTotal = device["vram_total"]?.numberValue?.int64 ?? node.vramTotal
            node.vramFree = device["vram_free"]?.numberValue?.int64 ?? node.vramFree
        }
        nodes[name] = node
    }

    func applyObjectInfo(_ info: JSONValue, to name: String) {
        guard var node = nodes[name], case .object(let object) = info else { return }
        node.objectInfo = object
        var classes: [String: NodeClass] = [:]
        var combos: [String: [String: Set<String>]] = [:]
        var local = Set<String>()
        for (className, classInfo) in object {
            guard let nodeClass = NodeClass(name: className, objectInfo: classInfo) else { continue }
            classes[className] = nodeClass
            for input in nodeClass.required + nodeClass.optional {
                guard case .combo(.fixed(let values), _) = input.kind else { continue }
                if nodeClass.customValidated.contains(input.name) {
                    local.formUnion(values.filter { !Self.isDeliveredCopy($0) })
                } else {
                    combos[className, default: [:]][input.name] = Set(values)
                }
            }
        }
        node.localFiles = local
        node.inputFolderCombos = Self.inputFolderCombos(classes)
        node.classes = classes
        node.classTypes = Set(classes.keys)
        node.comboValues = combos
        nodes[name] = node
        scheduleDispatch()
        probeIfNeeded(name)
    }

    func applyHealth(_ health: NodeHealth, to name: String) async {
        guard nodes[name] != nil else { return }
        nodes[name]?.health = health
        recordHealth(health, of: name)
        probeIfNeeded(name)
        if health == .down {
            // It may come back with another disk: its input folder is probed again then.
            nodes[name]?.probedExtensions = []
            // At-least-once: what was on a dead node goes back to the fleet queue; a job that was running there
            // does not go back to it, and one that has now been running on too many dying nodes is quarantined.
            for active in jobs(on: name) where !active.finalizing {
                if active.relayedMessages.contains(where: { $0.event == "execution_success" }) {
                    // It finished: what the node's socket said is its history, which died with the node.
                    await finalize(active.job.id, from: name, requeueIfUnknown: true)
                } else if active.job.state == .running {
                    await jobFailedOnNode(active.job.id, node: name, why: "node \(name) went down while running it")
                } else {
                    await requeue(active.job.id, from: name)
                }
            }
            nodes[name]?.currentPrompt = nil
        }
        scheduleDispatch()
    }

    /// Squares Conductor's books with a node's `/queue` (`JobWatch.reconcile`): prompts of this Conductor that are not
    /// its jobs there are removed first (so a node that comes back is given new work only after; its first good poll
    /// is folded before it is up again), started jobs become running, and a job the node no longer has is finished
    /// (its history says so) or forgotten by a restart (requeued).
    func reconcile(_ queue: QueueStatus, on name: String, asked: ContinuousClock.Instant = .now) async {
        let onNode = jobs(on: name).filter { !$0.finalizing }.map { active in
            JobWatch.OnNode(id: active.job.id, running: active.job.state == .running, postedAt: active.postedAt.map { ($0 - started).seconds })
        }
        let verdict = JobWatch.reconcile(queue, jobs: onNode, askedAt: (asked - started).seconds, clientPrefix: "conductor-\(instanceID)-") {
            jobs[$0]?.job.node == name
        }
        await removeUnexpectedPrompts(verdict, on: name)
        for id in verdict.started { await markRunning(id) }
        for id in verdict.gone { await finalize(id, from: name, requeueIfUnknown: true) }
        if nodes[name]?.health == .up { scheduleDispatch() }
    }

    /// A node never works for nobody: a prompt Conductor sent it that is no longer Conductor's job there is deleted
    /// from its queue, or interrupted when it runs. Prompts of other clients of the node are left alone.
    func removeUnexpectedPrompts(_ verdict: JobWatch.QueueVerdict, on name: String) async {
        guard let node = nodes[name] else { return }
        let running = verdict.unexpectedRunning, waiting = verdict.unexpectedWaiting
        guard !running.isEmpty || !waiting.isEmpty else { return }
        logger.warning("node holds prompts Conductor no longer expects there: removing them",
                       metadata: ["node.name": "\(name)", "running": "\(running)", "waiting": "\(waiting)"])
        if !waiting.isEmpty {
            _ = try? await node.client.send(.POST, "/queue", json: ["delete": .array(waiting.map(JSONValue.string))], timeout: 5)
            for _ in waiting { metrics.recordRemovedPrompt(node: name, state: "waiting") }
        }
        for id in running {
            _ = try? await node.client.send(.POST, "/interrupt", json: ["prompt_id": .string(id)], timeout: 5)
            metrics.recordRemovedPrompt(node: name, state: "running")
        }
    }

    func markRunning(_ id: String) async {
        guard var active = jobs[id], active.job.state != .running else { return }
        active.job.state = .running
        active.startedAt = .now
        if let node = active.job.node, let snapshot = capabilitySnapshots().first(where: { $0.name == node }) {
            var idle = snapshot
            idle.residentCheckpoint = nodes[node]?.loadedCheckpoint
            let parts = Scheduler.predictedFinish(active.requirements, on: idle)
            active.predictedSeconds = parts.load + parts.run
        }
        jobs[id] = active
        recordStarted(active.job)
        try? await store.update(id: id, state: .running, node: active.job.node)
    }

    /// Relays one node message to the job's client, rewriting output names toward the client.
    func relay(_ message: ServerMessage, from node: String) async {
        guard let promptID = message.promptID, let active = jobs[promptID], active.job.node == node else {
            if case .other = message, message.promptID == nil { await hub.broadcast(message) }
            return
        }
        if case .executionError(let error) = message, error.timestamp != nil, error.isOutOfMemory,
            await retryOutOfMemory(promptID, on: node)
        {
            return
        }
        let owner = active.job.clientID
        noteProgress(message, node: node)
        record(message, for: promptID)
        switch message {
        case .status, .featureFlags, .logs:
            return
        case .executionStart:
            nodes[node]?.currentPrompt = promptID
            await markRunning(promptID)
            if let owner { await hub.send(message, to: owner) }
        case .executing(let graphNode, _, _):
            guard let graphNode else {
                await finalize(promptID, from: node, requeueIfUnknown: false)
                return
            }
            nodes[node]?.currentPrompt = promptID
            jobs[promptID]?.executingNode = graphNode
            await markRunning(promptID)
            if let owner { await hub.send(message, to: owner) }
        case .progress, .progressState, .executionInterrupted:
            await hub.sendProgress(message, owner: owner)
        case .executed(let graphNode, let display, let output, let id):
            if let owner {
                await hub.send(.executed(node: graphNode, displayNode: display, output: OutputNames.present(output, node: node),
                                         promptID: id), to: owner)
            }
        case .executionError(let error) where error.timestamp == nil:
            await hub.sendProgress(message, owner: owner)  // the "blocked" form, broadcast without an owner
        case .executionCached, .executionSuccess, .executionError, .other:
            if let owner { await hub.send(message, to: owner) }
        }
    }

    func relayBinary(_ bytes: [UInt8], from node: String) async {
        guard let frame = try? BinaryFrame(bytes: bytes) else { return }
        switch frame {
        case .previewImageWithMetadata(let metadata, let image):
            // Only from the node the job is on: a node that comes back still running a moved job is not heard.
            guard let promptID = metadata["prompt_id"]?.stringValue, let active = jobs[promptID], active.job.node == node else { return }
            await hub.sendPreview(image: image, metadata: metadata, owner: active.job.clientID)
        case .previewImage(let format, let image):
            guard let promptID = nodes[node]?.currentPrompt, let active = jobs[promptID], active.job.node == node else { return }
            let graphNode = active.executingNode.map(JSONValue.string) ?? .null
            let metadata: JSONObject = [
                "node_id": graphNode, "prompt_id": .string(promptID), "display_node_id": graphNode, "parent_node_id": .null,
                "real_node_id": graphNode, "image_type": format == .png ? "image/png" : "image/jpeg",
            ]
            await hub.sendPreview(image: image, metadata: metadata, owner: active.job.clientID)
        case .text:
            await hub.broadcastBinary(bytes)
        case .unencodedPreviewImage:
            return
        }
    }

    /// A job ended on its node: copy the node's history entry into the merged store (prompt and
    /// extra_data as the client sent them, outputs under the node's subfolder), then tell the client.
    func finalize(_ id: String, from node: String, requeueIfUnknown: Bool) async {
        guard var active = jobs[id], active.job.node == node, !active.finalizing, let client = nodes[node]?.client else { return }
        active.finalizing = true
        jobs[id] = active
        // The node's history is read off the event loop: this node's later events wait for the job's end to be told
        // (so its client hears it before the next job's start), other nodes' events go on.
        if heldEvents[node] == nil { heldEvents[node] = [] }
        finalizingOn[node, default: 0] += 1
        Task {
            let fetched = await Self.history(of: id, from: client)
            await self.finalize(id, from: node, fetched: fetched, requeueIfUnknown: requeueIfUnknown)
            await self.releaseEvents(of: node)
        }
    }

    /// A job's entry in its node's history, tried three times 100 ms apart; nil when the node has none.
    static func history(of id: String, from client: NodeClient) async -> HistoryEntry? {
        for attempt in 0..<3 {
            if let response = try? await client.get("/history/\(id)"), response.status == 200,
                let entry = response.json?[id], let parsed = try? HistoryEntry(json: entry)
            {
                return parsed
            }
            if attempt < 2 { try? await Task.sleep(for: .milliseconds(100)) }
        }
        return nil
    }

    /// Commits a job's end from its node's history entry (or, when the node has none, from what its messages told), or
    /// requeues it when neither says it ended.
    func finalize(_ id: String, from node: String, fetched: HistoryEntry?, requeueIfUnknown: Bool) async {
        guard let active = jobs[id] else { return }
        guard let nodeEntry = fetched ?? relayedEntry(id), active.job.node == node else {
            jobs[id]?.finalizing = false
            if requeueIfUnknown {
                logger.warning("node forgot a job; requeued", metadata: ["prompt.id": "\(id)", "node.name": "\(node)"])
                await requeue(id, from: node)
            }
            return
        }
        let entry = HistoryEntry(
            prompt: active.job.queueItem, outputs: OutputNames.present(nodeEntry.outputs, node: node),
            status: nodeEntry.status, meta: nodeEntry.meta)
        do {
            try await store.complete(id: id, node: node, entry: entry, completedAt: epochMilliseconds())
        } catch {
            logger.error("could not store history", metadata: ["prompt.id": "\(id)", "error": "\(error)"])
            jobs[id]?.finalizing = false
            return
        }
        recordFinished(active, entry: entry, node: node)
        nodeSucceeded(node)
        learn(from: nodeEntry, job: active, node: node)
        jobs[id] = nil
        if nodes[node]?.currentPrompt == id { nodes[node]?.currentPrompt = nil }
        broadcastStatus()
        if let owner = active.job.clientID {
            await tellMissedOutcome(of: active, entry: nodeEntry, node: node, to: owner)
            await hub.send(.executing(node: nil, displayNode: nil, promptID: id), to: owner)
        }
        scheduleDispatch()
    }

    /// Learns from a finished job what its run says of the node and of its workflow shape (`FleetDispatcher.learn`).
    func learn(from entry: HistoryEntry, job: ActiveJob, node: String) {
        guard let state = nodes[node] else { return }
        var learning = FleetDispatcher.NodeLearning(speed: state.speed, loadSeconds: state.loadSeconds, loadedCheckpoint: state.loadedCheckpoint)
        dispatcher.learn(from: entry, of: job.requirements, on: &learning, assumedSpeed: effectiveSpeeds()[node] ?? state.speed.unitsPerSecond)
        nodes[node]?.speed = learning.speed
        nodes[node]?.loadSeconds = learning.loadSeconds
        nodes[node]?.loadedCheckpoint = learning.loadedCheckpoint
    }
}

extension Coordinator {
    /// Keeps what a history entry is made of from the node's messages of the current run.
    func record(_ message: ServerMessage, for id: String) {
        guard var active = jobs[id] else { return }
        switch message {
        case .executionStart:
            active.relayedMessages = []
            active.relayedOutputs = [:]
            fallthrough
        case .executionCached, .executionSuccess, .executionInterrupted:
            let json = message.json
            active.relayedMessages.append(StatusMessage(event: json["type"]?.stringValue ?? "", data: json["data"]?.objectValue ?? [:]))
        case .executionError(let error) where error.timestamp != nil:
            let json = message.json
            active.relayedMessages.append(StatusMessage(event: json["type"]?.stringValue ?? "", data: json["data"]?.objectValue ?? [:]))
        case .executed(let graphNode, _, let output, _):
            active.relayedOutputs[graphNode] = output
        default:
            return
        }
        jobs[id] = active
    }

    /// The history entry of a run that ended in `execution_success`, as its messages told it, for when the node's
    /// own history is gone (the node died or restarted before Conductor read it); nil for any other run.
    func relayedEntry(_ id: String) -> HistoryEntry? {
        guard let active = jobs[id], active.relayedMessages.last?.event == "execution_success" else { return nil }
        return HistoryEntry(prompt: active.job.queueItem, outputs: active.relayedOutputs,
                            status: HistoryStatus(statusStr: "success", completed: true, messages: active.relayedMessages), meta: [:])
    }
}

extension Coordinator {
    /// When Conductor learned a job's end from the node's history rather than its socket (the link was down or
    /// reconnecting), the client still hears what it would have: each output's `executed` and the final
    /// `execution_success`/`execution_error`/`execution_interrupted`, taken from the history entry.
    func tellMissedOutcome(of active: ActiveJob, entry: HistoryEntry, node: String, to owner: String) async {
        let terminal: Set<String> = ["execution_success", "execution_error", "execution_interrupted"]
        guard !active.relayedMessages.contains(where: { terminal.contains($0.event) }),
            let last = entry.status?.messages.last, terminal.contains(last.event)
        else { return }
        if active.relayedOutputs.isEmpty {
            for (graphNode, output) in entry.outputs {
                await hub.send(.executed(node: graphNode, displayNode: graphNode, output: OutputNames.present(output, node: node),
                                         promptID: active.job.id), to: owner)
            }
        }
        if let message = try? ServerMessage(json: ["type": .string(last.event), "data": .object(last.data)]) {
            await hub.send(message, to: owner)
        }
    }
}

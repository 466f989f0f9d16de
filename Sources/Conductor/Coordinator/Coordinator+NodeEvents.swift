import ComfyWire
import ConductorCore
import Foundation
import Logging
import NIOHTTP1

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
            group.addTask { await self.controls.run() }
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
        case .message(let node, let message):
            noteProgress(message, node: node)
            await apply(.message(node: node, message))
        case .binary(let node, let bytes): await relayBinary(bytes, from: node)
        case .webSocket(let node, let connected): await apply(.webSocket(node: node, connected: connected))
        case .stats(let node, let stats):
            applyStats(stats, to: node)
            sampleUtilisation(of: node)
        case .queue(let node, let queue, let asked): await apply(.queue(node: node, queue, askedAt: (asked - started).seconds))
        case .objectInfo(let node, let info): await applyObjectInfo(info, to: node)
        case .health(let node, let health): await applyHealth(health, to: node)
        }
    }

    /// Applies one event to the state machine and runs what it asks for.
    func apply(_ event: FleetStateMachine.Event) async {
        await perform(fleet.handle(event, at: moment))
    }

    /// Runs the state machine's actions, in order. Store writes are queued behind one another (a job's end is awaited:
    /// its result is the next event); node requests other than a job's post run in their own tasks.
    func perform(_ actions: [FleetStateMachine.Action]) async {
        for action in actions {
            switch action {
            case .persist(let write):
                queueWrite(write)
            case .send(let id, let node):
                let written = lastWrite
                if !sends.submit(
                    node,
                    {
                        await written?.value
                        await self.send(id, to: node)
                    })
                {
                    // Cannot happen while a node holds at most `maxOutstanding` jobs; if it did, the job waits again.
                    await apply(.posted(job: id, node: node, .notSent))
                }
            case .readHistory(let id, let node, let requeueIfUnknown):
                readHistory(id, from: node, requeueIfUnknown: requeueIfUnknown)
            case .commit(let id, let node, let entry):
                let ok = await commit(id, node: node, entry: entry)
                await apply(.committed(job: id, node: node, ok: ok))
            case .tell(let message, let client):
                await hub.send(message, to: client)
            case .tellProgress(let message, let owner):
                await hub.sendProgress(message, owner: owner)
            case .broadcast(let message):
                await hub.broadcast(message)
            case .queueChanged:
                broadcastStatus()
            case .interrupt(let id, let node):
                guard let client = nodes[node]?.client else { continue }
                controls.submit(node) { _ = try? await client.send(.POST, "/interrupt", json: ["prompt_id": .string(id)], timeout: 5) }
            case .removeFromQueue(let ids, let node):
                guard let client = nodes[node]?.client else { continue }
                controls.submit(node) { _ = try? await client.send(.POST, "/queue", json: ["delete": .array(ids.map(JSONValue.string))], timeout: 5) }
            case .removedPrompts(let node, let waiting, let running):
                for _ in 0..<waiting { metrics.recordRemovedPrompt(node: node, state: "waiting") }
                for _ in 0..<running { metrics.recordRemovedPrompt(node: node, state: "running") }
            case .dispatch:
                scheduleDispatch()
            case .started(let job):
                recordStarted(job)
            case .finished(let active, let entry, let node, let loadedBefore):
                recordFinished(active, entry: entry, node: node, loadedBefore: loadedBefore)
            case .log(let log):
                let metadata = log.metadata.mapValues { Logger.MetadataValue.string($0) }
                switch log.level {
                case .debug: logger.debug("\(log.message)", metadata: metadata)
                case .info: logger.info("\(log.message)", metadata: metadata)
                case .warning: logger.warning("\(log.message)", metadata: metadata)
                }
            }
        }
    }

    /// Queues a store write behind the ones before it.
    func queueWrite(_ write: FleetStateMachine.Write) {
        let store = store, logger = logger, previous = lastWrite
        lastWrite = Task {
            await previous?.value
            do {
                switch write {
                case .state(let id, let state, let node, let placement):
                    try await store.update(id: id, state: state, node: node, placement: placement.map(Self.placementText))
                case .delete(let id):
                    try await store.deleteJob(id: id)
                case .vramNeeds(let needs):
                    try await store.setVRAMNeeds(needs)
                case .draining(let node, let draining):
                    try await store.saveDraining(node, draining)
                }
            } catch {
                logger.error("could not write to the store", metadata: ["write": "\(write)", "error": "\(error)"])
            }
        }
    }

    /// Moves a job into history, after the writes queued before it; false when the store could not.
    func commit(_ id: String, node: String, entry: HistoryEntry) async -> Bool {
        let store = store, previous = lastWrite
        let write = Task<Bool, Never> {
            await previous?.value
            do {
                try await store.complete(id: id, node: node, entry: entry, completedAt: epochMilliseconds())
                return true
            } catch {
                return false
            }
        }
        lastWrite = Task { _ = await write.value }
        let ok = await write.value
        if !ok { logger.error("could not store history", metadata: ["prompt.id": "\(id)"]) }
        return ok
    }

    /// A placement as the JSON the store and the admin API keep.
    static func placementText(_ placement: Placement) -> String {
        (try? JSONEncoder().encode(placement)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    func applyStats(_ stats: JSONValue, to name: String) {
        guard nodes[name] != nil else { return }
        nodes[name]?.stats = stats
        if let device = stats["devices"]?[0], let node = fleet.nodes[name] {
            let total = device["vram_total"]?.numberValue?.int64 ?? node.vramTotal
            let free = device["vram_free"]?.numberValue?.int64 ?? node.vramFree
            _ = fleet.handle(.vram(node: name, total: total, free: free), at: moment)
        }
    }

    func applyObjectInfo(_ info: JSONValue, to name: String) async {
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
        nodes[name] = node
        await apply(.capabilities(node: name, classTypes: Set(classes.keys), comboValues: combos))
        probeIfNeeded(name)
    }

    func applyHealth(_ health: NodeHealth, to name: String) async {
        guard nodes[name] != nil else { return }
        recordHealth(health, of: name)
        // It may come back with another disk: its input folder is probed again then.
        if health == .down { nodes[name]?.probedExtensions = [] }
        await apply(.health(node: name, health))
        probeIfNeeded(name)
    }

    func relayBinary(_ bytes: [UInt8], from node: String) async {
        guard let frame = try? BinaryFrame(bytes: bytes) else { return }
        switch frame {
        case .previewImageWithMetadata(let metadata, let image):
            // Only from the node the job is on: a node that comes back still running a moved job is not heard.
            guard let promptID = metadata["prompt_id"]?.stringValue, let active = jobs[promptID], active.job.node == node else { return }
            await hub.sendPreview(image: image, metadata: metadata, owner: active.job.clientID)
        case .previewImage(let format, let image):
            guard let active = fleet.currentJob(on: node) else { return }
            let graphNode = active.executingNode.map(JSONValue.string) ?? .null
            let metadata: JSONObject = [
                "node_id": graphNode, "prompt_id": .string(active.job.id), "display_node_id": graphNode, "parent_node_id": .null,
                "real_node_id": graphNode, "image_type": format == .png ? "image/png" : "image/jpeg"
            ]
            await hub.sendPreview(image: image, metadata: metadata, owner: active.job.clientID)
        case .text:
            await hub.broadcastBinary(bytes)
        case .unencodedPreviewImage:
            return
        }
    }

    /// Reads a job's entry from its node's history, off the event loop: this node's later events wait for the job's end
    /// to be told (so its client hears it before the next job's start), other nodes' events go on.
    func readHistory(_ id: String, from node: String, requeueIfUnknown: Bool) {
        guard let client = nodes[node]?.client else {
            Task { await self.apply(.historyRead(job: id, node: node, nil, requeueIfUnknown: requeueIfUnknown)) }
            return
        }
        if heldEvents[node] == nil { heldEvents[node] = [] }
        finalizingOn[node, default: 0] += 1
        Task {
            let fetched = await Self.history(of: id, from: client)
            await self.apply(.historyRead(job: id, node: node, fetched, requeueIfUnknown: requeueIfUnknown))
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
}

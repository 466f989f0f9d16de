import ComfyWire
import ConductorCore
import Foundation
import NIOHTTP1
import Logging

extension Coordinator {
    /// Asks for a dispatch pass; requests made while one runs coalesce into one more pass.
    func scheduleDispatch() {
        dispatchSignal.yield()
    }

    /// The dispatcher: one pass per signal, never two at once. Runs until cancelled.
    public func runDispatcher() async {
        for await _ in dispatchSignals {
            await dispatchPass()
        }
    }

    /// Each node as the dispatcher sees it (`FleetDispatcher.NodeView`): its state, and its jobs in the order it runs
    /// them, the running one first.
    func nodeViews() -> [FleetDispatcher.NodeView] {
        let ejected = ejectedNodes()
        let speeds = effectiveSpeeds()
        return nodeOrder.compactMap { name in
            guard let node = nodes[name] else { return nil }
            // Without its WebSocket a node's jobs would run unseen: it takes no new work until reconnected.
            // An ejected node also waits (unless too much of the fleet is ejected: see `ejected()`).
            let health: NodeHealth = node.health == .up && (!node.webSocketConnected || ejected.contains(name)) ? .suspect : node.health
            let snapshot = NodeSnapshot(
                name: name, health: health, draining: node.draining, outstanding: 0,
                maxOutstanding: node.config.maxOutstanding, classTypes: node.classTypes, comboValues: node.comboValues,
                vramTotal: node.vramTotal, vramFree: node.vramFree, residentCheckpoint: node.loadedCheckpoint,
                speed: speeds[name] ?? node.speed.unitsPerSecond, speedMeasured: node.speed.samples > 0, committedSeconds: 0,
                checkpointLoadSeconds: node.loadSeconds.seconds)
            let mine = jobs(on: name).sorted { a, b in
                if (a.job.state == .running) != (b.job.state == .running) { return a.job.state == .running }
                return (a.dispatchedAt ?? .now) < (b.dispatchedAt ?? .now)
            }
            return FleetDispatcher.NodeView(snapshot: snapshot, outstanding: mine.map { active in
                FleetDispatcher.Outstanding(requirements: active.requirements, startedAt: active.startedAt.map { ($0 - started).seconds },
                                            nodeFailures: active.nodeFailures)
            })
        }
    }

    /// What each node can run, without its load: enough for `Scheduler.canRun`, and cheap enough to
    /// build on every submit however long the queue is.
    func capabilitySnapshots() -> [NodeSnapshot] {
        let speeds = effectiveSpeeds()
        return nodeOrder.compactMap { name in
            guard let node = nodes[name] else { return nil }
            return NodeSnapshot(
                name: name, health: node.health, maxOutstanding: node.config.maxOutstanding,
                classTypes: node.classTypes, comboValues: node.comboValues, vramTotal: node.vramTotal,
                vramFree: node.vramFree, speed: speeds[name] ?? node.speed.unitsPerSecond, speedMeasured: node.speed.samples > 0,
                checkpointLoadSeconds: config.checkpointLoadSeconds)
        }
    }

    /// Each node's speed as the scheduler uses it (`FleetDispatcher.effectiveSpeeds`).
    func effectiveSpeeds() -> [String: Double] {
        FleetDispatcher.effectiveSpeeds(nodes.values.map { ($0.config.name, $0.speed, $0.config.speed) })
    }

    /// Places waiting jobs in queue order on nodes with room (late binding: nothing is sent to a
    /// node before it can take it), and hands each to its node's send lane: the pass never waits on a node.
    func dispatchPass() async {
        placed = placed.filter { jobs[$0]?.job.node != nil }
        var views = nodeViews()
        // With every node full (or down, or drained) nothing can be placed: do not even order the queue.
        guard FleetDispatcher.anyTakesWork(views) else { return }
        let queued = ordered(jobs.values.filter { $0.job.state == .queued })
        guard !queued.isEmpty else { return }
        let needed = Set(queued.flatMap { $0.requirements.files.map(\.id) })
        let holders = fileHolders(for: needed)
        for index in views.indices {
            views[index].snapshot.transferBytesPerSecond = config.files.transferBytesPerSecond
            for (id, nodes) in holders where nodes.contains(views[index].snapshot.name) { views[index].snapshot.heldFiles.insert(id) }
        }
        let decisionStarted = ContinuousClock.now
        let waiting = queued.map {
            FleetDispatcher.Waiting(requirements: $0.requirements, stamp: $0.fairStamp, isFront: $0.isFront, nodeFailures: $0.nodeFailures)
        }
        let round = dispatcher.round(waiting: waiting, nodes: views, at: secondsSinceStart, explain: true)
        metrics.recordDispatchDecision(.now - decisionStarted)
        let snapshots = round.snapshots
        for (position, decision) in round.holds {
            guard let full = decision.waitingFor, let idle = decision.passedOver, jobs[queued[position].job.id] != nil else { continue }
            let why = "held for \(snapshots[full].name) (measured \(Self.rounded(snapshots[full].speed)) units/s), predicted to finish "
                + "\(Self.rounded(decision.predictedGain ?? 0)) s sooner there than on \(snapshots[idle].name), which had room"
            let since = jobs[queued[position].job.id]?.heldBack?.since ?? .now
            jobs[queued[position].job.id]?.heldBack = (why, since)
        }
        let assignments = round.assignments
        for assignment in assignments {
            let chosen = snapshots[assignment.node].name
            guard var active = jobs[queued[assignment.job].job.id], active.job.state == .queued, nodes[chosen] != nil else { continue }
            var placement = assignment.placement
            placement?.runTimeError = dispatcher.runTimes.relativeError(of: queued[assignment.job].requirements.shape)
            if let held = active.heldBack {
                placement?.heldBack = held.why + "; waited \(Self.rounded((ContinuousClock.now - held.since).seconds)) s"
            }
            let explanation = placement.flatMap { try? JSONEncoder().encode($0) }.map { String(decoding: $0, as: UTF8.self) }
            active.job.state = .dispatched
            active.job.node = chosen
            placed.insert(active.job.id)
            active.job.placement = explanation
            active.dispatchedAt = .now
            jobs[active.job.id] = active
            do {
                try await store.update(id: active.job.id, state: .dispatched, node: chosen, placement: explanation)
            } catch {
                logger.error("could not record a dispatch", metadata: ["prompt.id": "\(active.job.id)", "error": "\(error)"])
            }
            let id = active.job.id
            if !sends.submit(chosen, { await self.send(id, to: chosen) }) {
                // Cannot happen while a node holds at most `maxOutstanding` jobs; if it did, the job waits again.
                await requeue(id, from: chosen)
            }
        }
    }

    /// The node's lane delivers a job's files and posts it, if it is still that node's job to take.
    func send(_ id: String, to name: String) async {
        guard let active = jobs[id], active.job.state == .dispatched, active.job.node == name, active.postedAt == nil,
            let node = nodes[name]
        else { return }
        await send(active.job, to: node)
    }

    static func rounded(_ value: Double) -> String { String(format: "%.2f", value) }

    /// A job ran out of VRAM on its node. When a node with more VRAM could run it, its checkpoint is taught to need
    /// more than this node has, and the job goes back to the queue for such a node without its client hearing the
    /// error; true then. Otherwise (no larger node) the error stands, as on a single ComfyUI, and nothing is learned.
    func retryOutOfMemory(_ id: String, on node: String) async -> Bool {
        guard let active = jobs[id], active.job.node == node, !active.finalizing, let total = nodes[node]?.vramTotal, total > 0
        else { return false }
        var larger = dispatcher.learnedVRAM(active.requirements)
        larger.vramNeeded = max(larger.vramNeeded ?? 0, total + 1)
        guard capabilitySnapshots().contains(where: { $0.vramTotal > total && Scheduler.canRun(larger, on: $0) }) else { return false }
        if let checkpoint = active.requirements.checkpoint {
            dispatcher.vramNeeds[checkpoint] = larger.vramNeeded
            do { try await store.setVRAMNeeds(dispatcher.vramNeeds) } catch {
                logger.error("could not store what a checkpoint needs", metadata: ["error": "\(error)"])
            }
        }
        jobs[id]?.requirements.vramNeeded = larger.vramNeeded
        logger.warning("out of VRAM; requeued for a node with more", metadata: [
            "prompt.id": "\(id)", "node.name": "\(node)", "checkpoint": "\(active.requirements.checkpoint ?? "none")",
            "vram.needed": "\(larger.vramNeeded ?? 0)"])
        await requeue(id, from: node)
        return true
    }

    /// POSTs a job to its node under Conductor's client id, keeping the client's prompt_id.
    func send(_ job: Job, to node: NodeState) async {
        var extra = job.extraData
        extra.removeValue(forKey: "client_id")
        extra.removeValue(forKey: "create_time")
        let log = logger.with(["prompt.id": "\(job.id)", "node.name": "\(node.config.name)"])
        let prompt: JSONValue
        do {
            prompt = try await self.prompt(job.prompt, deliveredTo: node)
        } catch {
            switch error {
            case .missing(let problem):
                log.info("a file the prompt reads is gone", metadata: ["problem": "\(problem)"])
                await failRejected(job.id, node: node.config.name, answer: [
                    "error": ["type": "missing_file", "message": "A file the prompt reads is no longer available", "details": .string(problem)],
                    "node_errors": [:]])
                return
            case .node(let problem):
                // The node is held back until its next good poll, so a failing node does not spin the dispatcher.
                log.warning("could not deliver the prompt's files; requeued", metadata: ["problem": "\(problem)"])
                nodeFailed(node.config.name)
                if var state = nodes[node.config.name], state.health == .up {
                    state.health = .suspect
                    nodes[node.config.name] = state
                }
                await requeue(job.id, from: node.config.name)
                return
            }
        }
        // Delivering files awaited: the job may have been cancelled or moved, or the node removed, meanwhile.
        guard nodes[node.config.name] != nil, jobs[job.id]?.job.node == node.config.name else { return }
        let body: JSONValue = ["prompt": prompt, "client_id": .string(node.sid), "prompt_id": .string(job.id),
                               "extra_data": .object(extra)]
        do {
            let response = try await node.client.send(.POST, "/prompt", json: body, timeout: 30)
            switch response.status {
            case 200:
                // From now on the node has it: a `/queue` answer asked well after this that lacks it means it ended.
                if jobs[job.id]?.job.node == node.config.name { jobs[job.id]?.postedAt = .now }
                log.debug("dispatched")
                await trimCopies(on: node)
            case 400 where await forgetLostCopies(of: job, on: node, rejection: response.body):
                log.warning("the node lost copies Conductor had delivered; requeued to send them again")
                await requeue(job.id, from: node.config.name)
            case 400:
                log.info("node rejected the prompt", metadata: ["body": "\(String(decoding: response.body.prefix(500), as: UTF8.self))"])
                await failRejected(job.id, node: node.config.name, answer: response.json ?? .null)
            default:
                log.warning("node answered \(response.status) to a prompt; requeued")
                nodeFailed(node.config.name)
                await requeue(job.id, from: node.config.name)
            }
        } catch {
            log.warning("could not reach node; requeued", metadata: ["error": "\(error)"])
            if var state = nodes[node.config.name], state.health == .up {
                state.health = .suspect
                nodes[node.config.name] = state
            }
            await requeue(job.id, from: node.config.name)
        }
    }

    /// Puts a job that was on `node` back into the fleet queue.
    func requeue(_ id: String, from node: String) async {
        guard var active = jobs[id], active.job.node == node, !active.finalizing else { return }
        active.job.state = .queued
        active.job.node = nil
        active.dispatchedAt = nil
        active.postedAt = nil
        active.startedAt = nil
        active.executingNode = nil
        jobs[id] = active
        try? await store.update(id: id, state: .queued, node: nil)
        scheduleDispatch()
    }

    /// A node refused the prompt at dispatch: the client hears an execution_error and history keeps it.
    func failRejected(_ id: String, node: String, answer: JSONValue) async {
        guard let active = jobs[id] else { return }
        let error = answer["error"]
        let firstNode = answer["node_errors"]?.objectValue?.keys.first ?? ""
        let failure = ExecutionError(
            promptID: id, nodeID: firstNode, nodeType: answer["node_errors"]?[firstNode]?["class_type"]?.stringValue ?? "",
            executed: [], exceptionMessage: "\(error?["message"]?.stringValue ?? "Prompt rejected by node \(node)"): \(error?["details"]?.stringValue ?? "")",
            exceptionType: error?["type"]?.stringValue ?? "prompt_rejected", traceback: [],
            currentInputs: answer["node_errors"] ?? [:], currentOutputs: [], timestamp: epochMilliseconds())
        let message = ServerMessage.executionError(failure)
        let status = HistoryStatus(statusStr: "error", completed: false,
                                   messages: [StatusMessage(event: "execution_error", data: message.json["data"]?.objectValue ?? [:])])
        let entry = HistoryEntry(prompt: active.job.queueItem, outputs: [:], status: status, meta: [:])
        do {
            try await store.complete(id: id, node: node, entry: entry, completedAt: epochMilliseconds())
        } catch {
            logger.error("could not store history", metadata: ["prompt.id": "\(id)", "error": "\(error)"])
            return
        }
        recordFinished(active, entry: entry, node: node)
        jobs[id] = nil
        if let owner = active.job.clientID {
            await hub.send(message, to: owner)
        }
        broadcastStatus()
        if let owner = active.job.clientID { await hub.send(.executing(node: nil, displayNode: nil, promptID: id), to: owner) }
    }
}

extension Logger {
    func with(_ metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}

// MARK: Failures of nodes, not of workflows

extension Coordinator {
    /// A job lost to its node (the node died, or the job overran its time there): it goes back to the fleet queue,
    /// preferably to another node, unless that has now happened `limits.maxNodeFailures` times — then it is
    /// quarantined: failed with an error saying why, not retried forever.
    func jobFailedOnNode(_ id: String, node: String, why: String) async {
        guard var active = jobs[id], active.job.node == node, !active.finalizing else { return }
        nodeFailed(node)
        active.nodeFailures += 1
        active.requirements.excludedNodes.insert(node)
        let failed = active.requirements.excludedNodes.sorted()
        // Avoiding the nodes it failed on is a preference: with no other node able to run it, any may try again.
        if !capabilitySnapshots().contains(where: { !$0.classTypes.isEmpty && Scheduler.canRun(active.requirements, on: $0) }) {
            active.requirements.excludedNodes = []
        }
        jobs[id] = active
        if active.nodeFailures >= config.limits.maxNodeFailures {
            logger.warning("job quarantined", metadata: ["prompt.id": "\(id)", "nodes": "\(failed)"])
            await failRejected(id, node: node, answer: [
                "error": ["type": "job_quarantined",
                          "message": .string("The job was lost \(active.nodeFailures) times with its node and is not retried"),
                          "details": .string("\(why); lost on \(failed.joined(separator: ", "))")],
                "node_errors": [:]])
            return
        }
        logger.warning("job lost to its node; requeued", metadata: ["prompt.id": "\(id)", "node.name": "\(node)", "why": "\(why)"])
        await requeue(id, from: node)
    }

    /// Interrupts and re-queues elsewhere every job running far past its prediction
    /// (`limits.runTimeMultiple` × predicted, and at least `limits.runTimeFloorSeconds`).
    public func enforceRunTimeLimits() async {
        let running = jobs.values.filter { $0.job.state == .running && !$0.finalizing }.compactMap { active in
            active.startedAt.map { JobWatch.Running(id: active.job.id, startedAt: ($0 - started).seconds, predictedSeconds: active.predictedSeconds) }
        }
        for id in JobWatch.overrun(running, at: secondsSinceStart, limits: config.limits) {
            guard let active = jobs[id], active.job.state == .running, !active.finalizing, let node = active.job.node,
                let client = nodes[node]?.client
            else { continue }
            let limit = max(config.limits.runTimeFloorSeconds, config.limits.runTimeMultiple * (active.predictedSeconds ?? 0))
            await jobFailedOnNode(id, node: node, why: "it ran \(Int(limit)) s, past its time limit, on \(node)")
            _ = try? await client.send(.POST, "/interrupt", json: ["prompt_id": .string(id)], timeout: 5)
        }
    }

    /// Checks the run-time limits once a second until cancelled.
    public func runWatchdog() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            await enforceRunTimeLimits()
            await releaseJobsOfUnlinkedNodes()
        }
    }

    /// Whether the node's WebSocket has been gone longer than `limits.nodeWebSocketGraceSeconds`: Conductor would not
    /// hear its jobs' progress, so it holds none waiting and `/readyz` does not count it.
    func isUnlinked(_ name: String, now: ContinuousClock.Instant = .now) -> Bool {
        guard let node = nodes[name], !node.webSocketConnected, let lost = node.webSocketLostAt else { return false }
        return now - lost > .milliseconds(Int64(config.limits.nodeWebSocketGraceSeconds * 1000))
    }

    /// Jobs waiting in the queue of a node that has been without its WebSocket too long go back to the fleet queue,
    /// and are deleted from the node's queue so it does not run them too. A job already running there stays: the
    /// node's `/queue` polls still tell when it ends, and its history is fetched as usual.
    func releaseJobsOfUnlinkedNodes() async {
        for name in nodeOrder where isUnlinked(name) {
            let waiting = jobs(on: name).filter { !$0.finalizing && $0.job.state == .dispatched }.map(\.job.id)
            guard !waiting.isEmpty, let client = nodes[name]?.client else { continue }
            logger.warning("node without its websocket: its waiting jobs go back to the queue",
                           metadata: ["node.name": "\(name)", "jobs": "\(waiting.count)"])
            for id in waiting { await requeue(id, from: name) }
            _ = try? await client.send(.POST, "/queue", json: ["delete": .array(waiting.map(JSONValue.string))], timeout: 5)
        }
    }
}

// MARK: Outlier ejection

extension Coordinator {
    /// Counts a failure of the node (not of a workflow); see `Ejection` for when it is ejected, and for how long.
    func nodeFailed(_ name: String) {
        guard let seconds = nodes[name]?.ejection.failed(at: secondsSinceStart, limits: config.limits) else { return }
        logger.warning("node ejected", metadata: ["node.name": "\(name)", "failures": "\(nodes[name]?.ejection.consecutiveFailures ?? 0)",
                                                  "seconds": "\(seconds)"])
    }

    /// A job finished on the node (whatever the workflow's outcome): its failure streak ends.
    func nodeSucceeded(_ name: String) {
        nodes[name]?.ejection.succeeded()
    }

    /// The nodes ejected now (none past the panic threshold: see `Ejection.ejected`).
    func ejectedNodes() -> Set<String> {
        Ejection.ejected(nodeOrder.compactMap { name in nodes[name].map { (name, $0.ejection) } }, at: secondsSinceStart,
                         limits: config.limits)
    }
}

import ComfyWire

extension FleetStateMachine {
    /// What happens to the fleet, each with its time (given to `handle`).
    public enum Event: Sendable {
        /// A validated prompt is in the store: it waits in the fleet queue.
        case submitted(Job, JobRequirements, principal: String?)
        /// A node's WebSocket said something.
        case message(node: String, ServerMessage)
        case webSocket(node: String, connected: Bool)
        /// A node's `/system_stats` named its VRAM.
        case vram(node: String, total: Int64, free: Int64)
        /// A node's `/object_info` says what it can run.
        case capabilities(node: String, classTypes: Set<String>, comboValues: [String: [String: Set<String>]])
        case health(node: String, NodeHealth)
        /// A node's `/queue`, asked at `askedAt` (seconds on the same clock).
        case queue(node: String, QueueStatus, askedAt: Double)
        /// The node's lane delivered a job's files and posted it, or could not.
        case posted(job: String, node: String, PostResult)
        /// A job's entry in its node's history, or nil when the node has none.
        case historyRead(job: String, node: String, HistoryEntry?, requeueIfUnknown: Bool)
        /// The store committed a job's end (`ok`) or could not.
        case committed(job: String, node: String, ok: Bool)
        /// A second passed: time limits and nodes without their WebSocket are checked.
        case tick
        /// An operator drained a node, or put it back to work.
        case drain(node: String, Bool)
        case nodeAdded(ClusterConfig.Node)
        case nodeRemoved(String)
        /// Waiting jobs to delete (`POST /queue`, a cancel): running or finishing ones are kept.
        case deleteWaiting([String])
        /// An operator sends a job waiting on a node back to the fleet queue.
        case requeue(job: String, node: String)
    }

    /// What came of a job's delivery and `POST /prompt`.
    public enum PostResult: Sendable {
        /// The node accepted it (200).
        case accepted
        /// A file the prompt reads is gone from Conductor's store: the job fails.
        case missingFile(String)
        /// Its files could not be delivered to the node.
        case deliveryFailed(String)
        /// The node refused it naming a copy Conductor had delivered (now forgotten): it goes again, once.
        case lostCopies
        /// The node refused the prompt (400) with this answer.
        case refused(JSONValue)
        /// The node answered another status.
        case failed(status: Int)
        case unreachable(String)
        /// Its node's lane could not take it: it waits in the queue again.
        case notSent
    }

    /// What the shell does after a transition, in order.
    public enum Action: Sendable {
        /// A store write, in order with every other write.
        case persist(Write)
        /// Hand the job to its node's lane: deliver its files, then post it; the result comes back as `.posted`.
        case send(job: String, node: String)
        /// Read the job's history entry from its node; the result comes back as `.historyRead`.
        case readHistory(job: String, node: String, requeueIfUnknown: Bool)
        /// Move the job into history with this entry; the result comes back as `.committed`.
        case commit(job: String, node: String, entry: HistoryEntry)
        /// A message for one client.
        case tell(ServerMessage, client: String)
        /// Progress of a job (sent to its owner, or to every client without one).
        case tellProgress(ServerMessage, owner: String?)
        case broadcast(ServerMessage)
        /// The queue's length changed.
        case queueChanged
        case interrupt(job: String, node: String)
        /// Delete prompts from a node's queue.
        case removeFromQueue([String], node: String)
        /// Prompts of this Conductor that were no longer its jobs there were removed from a node.
        case removedPrompts(node: String, waiting: Int, running: Int)
        /// Run a dispatch round soon.
        case dispatch
        /// A job started on its node (for the queue-wait metric).
        case started(Job)
        /// A job's end is committed: for the node's counts and the metrics.
        case finished(FleetJob, entry: HistoryEntry, node: String, loadedBefore: String?)
        case log(Log)
    }

    public enum Write: Sendable, Hashable {
        case state(job: String, Job.State, node: String?, placement: Placement? = nil)
        case delete(job: String)
        case vramNeeds([String: Int64])
        case draining(node: String, Bool)
    }

    public struct Log: Sendable, Hashable {
        public enum Level: Sendable, Hashable { case debug, info, warning }
        public var level: Level
        public var message: String
        public var metadata: [String: String]

        init(_ level: Level, _ message: String, _ metadata: [String: String] = [:]) {
            self.level = level
            self.message = message
            self.metadata = metadata
        }
    }

    /// Applies one event and returns what to do.
    public mutating func handle(_ event: Event, at now: Moment) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .submitted(let job, let requirements, let principal):
            var active = FleetJob(job: job, requirements: requirements, principal: principal ?? job.clientID)
            active.fairStamp = dispatcher.enqueue(
                client: active.principal ?? "", work: requirements.work, weight: shareWeight(of: active.principal),
                checkpoint: requirements.checkpoint, at: now.seconds)
            jobs[job.id] = active
            actions += [.queueChanged, .dispatch]
        case .message(let node, let message):
            relay(message, from: node, at: now, into: &actions)
        case .webSocket(let node, let connected):
            guard nodes[node] != nil else { break }
            nodes[node]?.webSocketConnected = connected
            nodes[node]?.webSocketLostAt = connected ? nil : now.seconds
            if connected { actions.append(.dispatch) } else { nodes[node]?.currentPrompt = nil }
        case .vram(let node, let total, let free):
            nodes[node]?.vramTotal = total
            nodes[node]?.vramFree = free
        case .capabilities(let node, let classTypes, let comboValues):
            guard nodes[node] != nil else { break }
            nodes[node]?.classTypes = classTypes
            nodes[node]?.comboValues = comboValues
            actions.append(.dispatch)
        case .health(let node, let health):
            applyHealth(health, to: node, at: now, into: &actions)
        case .queue(let node, let queue, let askedAt):
            reconcile(queue, on: node, askedAt: askedAt, at: now, into: &actions)
        case .posted(let id, let node, let result):
            posted(id, on: node, result, at: now, into: &actions)
        case .historyRead(let id, let node, let entry, let requeueIfUnknown):
            historyRead(id, from: node, entry, requeueIfUnknown: requeueIfUnknown, at: now, into: &actions)
        case .committed(let id, let node, let ok):
            committed(id, on: node, ok: ok, into: &actions)
        case .tick:
            enforceRunTimeLimits(at: now, into: &actions)
            releaseJobsOfUnlinkedNodes(at: now, into: &actions)
        case .drain(let node, let draining):
            guard nodes[node] != nil else { break }
            if nodes[node]?.draining != draining {
                nodes[node]?.draining = draining
                actions.append(.log(Log(.info, draining ? "node drained" : "node back to work", ["node.name": node])))
                actions.append(.persist(.draining(node: node, draining)))
            }
            actions.append(.dispatch)
        case .nodeAdded(let config):
            guard nodes[config.name] == nil else { break }
            add(config, at: now.seconds)
        case .nodeRemoved(let name):
            removeNode(name, into: &actions)
        case .deleteWaiting(let ids):
            var changed = false
            for id in ids {
                guard let active = jobs[id], active.job.state != .running, !active.finalizing else { continue }
                jobs[id] = nil
                actions.append(.persist(.delete(job: id)))
                changed = true
            }
            if changed { actions += [.queueChanged, .dispatch] }
        case .requeue(let id, let node):
            guard let active = jobs[id], active.job.node == node, active.job.state == .dispatched, !active.finalizing else { break }
            actions.append(.log(Log(.info, "requeued by an operator", ["prompt.id": id, "node.name": node])))
            requeue(id, from: node, into: &actions)
        }
        return actions
    }

    // MARK: Dispatching

    /// One dispatch round: places waiting jobs in queue order on nodes with room (late binding: nothing goes to a node
    /// before it can take it) and hands each to its node's lane. `holders` names the nodes holding each file id asked.
    /// nil when no round was needed (no job waits, or no node takes work).
    public mutating func dispatch(
        at now: Moment, holders: (Set<String>) -> [String: Set<String>] = { _ in [:] },
        transferBytesPerSecond: Double = 0
    ) -> [Action]? {
        placed = placed.filter { jobs[$0]?.job.node != nil }
        var views = nodeViews(at: now.seconds)
        // With every node full (or down, or drained) nothing can be placed: do not even order the queue.
        guard FleetDispatcher.anyTakesWork(views) else { return nil }
        let queued = Self.ordered(jobs.values.filter { $0.job.state == .queued })
        guard !queued.isEmpty else { return nil }
        let held = holders(Set(queued.flatMap { $0.requirements.files.map(\.id) }))
        for index in views.indices {
            views[index].snapshot.transferBytesPerSecond = transferBytesPerSecond
            for (id, nodes) in held where nodes.contains(views[index].snapshot.name) { views[index].snapshot.heldFiles.insert(id) }
        }
        let waiting = queued.map {
            FleetDispatcher.Waiting(requirements: $0.requirements, stamp: $0.fairStamp, isFront: $0.isFront, nodeFailures: $0.nodeFailures)
        }
        let round = dispatcher.round(waiting: waiting, nodes: views, at: now.seconds, explain: explains)
        let snapshots = round.snapshots
        for (position, decision) in round.holds where explains {
            let id = queued[position].job.id
            guard let full = decision.waitingFor, let idle = decision.passedOver, jobs[id] != nil else { continue }
            let why =
                "held for \(snapshots[full].name) (measured \(Self.rounded(snapshots[full].speed)) units/s), predicted to finish "
                + "\(Self.rounded(decision.predictedGain ?? 0)) s sooner there than on \(snapshots[idle].name), which had room"
            let since = jobs[id]?.heldBack?.since ?? now.seconds
            jobs[id]?.heldBack = (why, since)
        }
        var actions: [Action] = []
        for assignment in round.assignments {
            let chosen = snapshots[assignment.node].name
            let id = queued[assignment.job].job.id
            guard var active = jobs[id], active.job.state == .queued, nodes[chosen] != nil else { continue }
            var placement = assignment.placement
            placement?.runTimeError = dispatcher.runTimes.relativeError(of: active.requirements.shape)
            if let held = active.heldBack {
                placement?.heldBack = held.why + "; waited \(Self.rounded(now.seconds - held.since)) s"
            }
            active.job.state = .dispatched
            active.job.node = chosen
            active.job.placement = nil
            active.placement = placement
            active.dispatchedAt = now.seconds
            placed.insert(id)
            jobs[id] = active
            actions.append(.persist(.state(job: id, .dispatched, node: chosen, placement: placement)))
            actions.append(.send(job: id, node: chosen))
        }
        return actions
    }

    /// A number with two decimals, as `%.2f` writes it (no Foundation here).
    static func rounded(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return "\(value)" }
        let hundredths = (value * 100).rounded()
        let sign = hundredths < 0 ? "-" : ""
        let whole = Int(abs(hundredths)) / 100, fraction = Int(abs(hundredths)) % 100
        return "\(sign)\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    // MARK: Node state

    mutating func applyHealth(_ health: NodeHealth, to name: String, at now: Moment, into actions: inout [Action]) {
        guard nodes[name] != nil else { return }
        nodes[name]?.health = health
        if health == .down {
            // At-least-once: what was on a dead node goes back to the fleet queue; a job that was running there does not
            // go back to it, and one that has now been running on too many dying nodes is quarantined.
            for active in jobs(on: name) where !active.finalizing {
                if active.relayedMessages.contains(where: { $0.event == "execution_success" }) {
                    // It finished: what the node's socket said is its history, which died with the node.
                    finalize(active.job.id, from: name, requeueIfUnknown: true, into: &actions)
                } else if active.job.state == .running {
                    jobFailedOnNode(active.job.id, node: name, why: "node \(name) went down while running it", at: now, into: &actions)
                } else {
                    requeue(active.job.id, from: name, into: &actions)
                }
            }
            nodes[name]?.currentPrompt = nil
        }
        actions.append(.dispatch)
    }

    /// Squares the books with a node's `/queue` (`JobWatch.reconcile`): prompts of this Conductor that are not its jobs
    /// there are removed first, started jobs become running, and a job the node no longer has is finished (its history
    /// says so) or was forgotten by a restart (requeued).
    mutating func reconcile(_ queue: QueueStatus, on name: String, askedAt: Double, at now: Moment, into actions: inout [Action]) {
        guard nodes[name] != nil else { return }
        let onNode = jobs(on: name).filter { !$0.finalizing }.map { active in
            JobWatch.OnNode(id: active.job.id, running: active.job.state == .running, postedAt: active.postedAt)
        }
        let verdict = JobWatch.reconcile(queue, jobs: onNode, askedAt: askedAt, clientPrefix: clientPrefix) { jobs[$0]?.job.node == name }
        let running = verdict.unexpectedRunning, waiting = verdict.unexpectedWaiting
        if !running.isEmpty || !waiting.isEmpty {
            actions.append(
                .log(
                    Log(
                        .warning, "node holds prompts Conductor no longer expects there: removing them",
                        ["node.name": name, "running": "\(running)", "waiting": "\(waiting)"])))
            if !waiting.isEmpty { actions.append(.removeFromQueue(waiting, node: name)) }
            for id in running { actions.append(.interrupt(job: id, node: name)) }
            actions.append(.removedPrompts(node: name, waiting: waiting.count, running: running.count))
        }
        for id in verdict.started { markRunning(id, at: now, into: &actions) }
        for id in verdict.gone { finalize(id, from: name, requeueIfUnknown: true, into: &actions) }
        if nodes[name]?.health == .up { actions.append(.dispatch) }
    }

    mutating func markRunning(_ id: String, at now: Moment, into actions: inout [Action]) {
        guard var active = jobs[id], active.job.state != .running else { return }
        active.job.state = .running
        active.startedAt = now.seconds
        if let node = active.job.node, var idle = capabilitySnapshots().first(where: { $0.name == node }) {
            idle.residentCheckpoint = nodes[node]?.loadedCheckpoint
            let parts = Scheduler.predictedFinish(active.requirements, on: idle)
            active.predictedSeconds = parts.load + parts.run
        }
        jobs[id] = active
        actions.append(.started(active.job))
        actions.append(.persist(.state(job: id, .running, node: active.job.node)))
    }

    /// Puts a job that was on `node` back into the fleet queue.
    mutating func requeue(_ id: String, from node: String, into actions: inout [Action]) {
        guard var active = jobs[id], active.job.node == node, !active.finalizing else { return }
        active.job.state = .queued
        active.job.node = nil
        active.dispatchedAt = nil
        active.postedAt = nil
        active.startedAt = nil
        active.executingNode = nil
        jobs[id] = active
        actions.append(.persist(.state(job: id, .queued, node: nil)))
        actions.append(.dispatch)
    }

    mutating func removeNode(_ name: String, into actions: inout [Action]) {
        guard nodes.removeValue(forKey: name) != nil else { return }
        nodeOrder.removeAll { $0 == name }
        let mine = Self.ordered(jobs(on: name).filter { !$0.finalizing })
        for active in mine { requeue(active.job.id, from: name, into: &actions) }
        let waiting = mine.filter { $0.job.state != .running }.map(\.job.id)
        if !waiting.isEmpty { actions.append(.removeFromQueue(waiting, node: name)) }
        for active in mine where active.job.state == .running { actions.append(.interrupt(job: active.job.id, node: name)) }
        actions.append(.log(Log(.info, "node removed", ["node.name": name, "jobs.requeued": "\(mine.count)"])))
        actions.append(.queueChanged)
    }
}

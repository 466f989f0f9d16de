import ComfyWire

extension FleetStateMachine {
    // MARK: A node's messages

    /// Relays one node message to its job's client (output names rewritten toward the client) and keeps what it says
    /// of the run.
    mutating func relay(_ message: ServerMessage, from node: String, at now: Moment, into actions: inout [Action]) {
        guard let promptID = message.promptID, let active = jobs[promptID], active.job.node == node else {
            if case .other = message, message.promptID == nil { actions.append(.broadcast(message)) }
            return
        }
        if case .executionError(let error) = message, error.timestamp != nil, error.isOutOfMemory,
            retryOutOfMemory(promptID, on: node, into: &actions)
        {
            return
        }
        let owner = active.job.clientID
        record(message, for: promptID)
        switch message {
        case .status, .featureFlags, .logs:
            return
        case .executionStart:
            nodes[node]?.currentPrompt = promptID
            markRunning(promptID, at: now, into: &actions)
            if let owner { actions.append(.tell(message, client: owner)) }
        case .executing(let graphNode, _, _):
            guard let graphNode else {
                finalize(promptID, from: node, requeueIfUnknown: false, into: &actions)
                return
            }
            nodes[node]?.currentPrompt = promptID
            jobs[promptID]?.executingNode = graphNode
            markRunning(promptID, at: now, into: &actions)
            if let owner { actions.append(.tell(message, client: owner)) }
        case .progress, .progressState, .executionInterrupted:
            actions.append(.tellProgress(message, owner: owner))
        case .executed(let graphNode, let display, let output, let id):
            if let owner {
                actions.append(
                    .tell(
                        .executed(
                            node: graphNode, displayNode: display, output: OutputNames.present(output, node: node),
                            promptID: id), client: owner))
            }
        case .executionError(let error) where error.timestamp == nil:
            actions.append(.tellProgress(message, owner: owner))  // the "blocked" form, broadcast without an owner
        case .executionCached, .executionSuccess, .executionError, .other:
            if let owner { actions.append(.tell(message, client: owner)) }
        }
    }

    /// Keeps what a history entry is made of from the node's messages of the current run.
    mutating func record(_ message: ServerMessage, for id: String) {
        guard var active = jobs[id] else { return }
        switch message {
        case .executionStart:
            active.relayedMessages = []
            active.relayedOutputs = [:]
            fallthrough
        case .executionCached, .executionSuccess, .executionInterrupted:
            active.relayedMessages.append(Self.statusMessage(message))
        case .executionError(let error) where error.timestamp != nil:
            active.relayedMessages.append(Self.statusMessage(message))
        case .executed(let graphNode, _, let output, _):
            active.relayedOutputs[graphNode] = output
        default:
            return
        }
        jobs[id] = active
    }

    static func statusMessage(_ message: ServerMessage) -> StatusMessage {
        let json = message.json
        return StatusMessage(event: json["type"]?.stringValue ?? "", data: json["data"]?.objectValue ?? [:])
    }

    /// The history entry of a run that ended in `execution_success`, as its messages told it, for when the node's own
    /// history is gone (the node died or restarted before Conductor read it); nil for any other run.
    func relayedEntry(_ id: String) -> HistoryEntry? {
        guard let active = jobs[id], active.relayedMessages.last?.event == "execution_success" else { return nil }
        return HistoryEntry(
            prompt: active.job.queueItem, outputs: active.relayedOutputs,
            status: HistoryStatus(statusStr: "success", completed: true, messages: active.relayedMessages), meta: [:])
    }

    /// A job ran out of VRAM on its node. When a node with more VRAM could run it, its checkpoint is taught to need more
    /// than this node has, and the job goes back to the queue for such a node without its client hearing the error;
    /// true then. Otherwise (no larger node) the error stands, as on a single ComfyUI, and nothing is learned.
    mutating func retryOutOfMemory(_ id: String, on node: String, into actions: inout [Action]) -> Bool {
        guard let active = jobs[id], active.job.node == node, !active.finalizing, let total = nodes[node]?.vramTotal, total > 0
        else { return false }
        var larger = dispatcher.learnedVRAM(active.requirements)
        larger.vramNeeded = max(larger.vramNeeded ?? 0, total + 1)
        guard capabilitySnapshots().contains(where: { $0.vramTotal > total && Scheduler.canRun(larger, on: $0) }) else { return false }
        if let checkpoint = active.requirements.checkpoint {
            dispatcher.vramNeeds[checkpoint] = larger.vramNeeded
            actions.append(.persist(.vramNeeds(dispatcher.vramNeeds)))
        }
        jobs[id]?.requirements.vramNeeded = larger.vramNeeded
        actions.append(
            .log(
                Log(
                    .warning, "out of VRAM; requeued for a node with more",
                    [
                        "prompt.id": id, "node.name": node, "checkpoint": active.requirements.checkpoint ?? "none",
                        "vram.needed": "\(larger.vramNeeded ?? 0)"
                    ])))
        requeue(id, from: node, into: &actions)
        return true
    }

    // MARK: A job's end

    /// A job ended on its node: its entry is read from the node's history (off the shell's event loop).
    mutating func finalize(_ id: String, from node: String, requeueIfUnknown: Bool, into actions: inout [Action]) {
        guard let active = jobs[id], active.job.node == node, !active.finalizing, nodes[node] != nil else { return }
        jobs[id]?.finalizing = true
        actions.append(.readHistory(job: id, node: node, requeueIfUnknown: requeueIfUnknown))
    }

    /// The node's history answered: the end is committed from its entry (or, when it has none, from what the job's
    /// messages told); when neither says the job ended it is requeued, or left on its node.
    mutating func historyRead(
        _ id: String, from node: String, _ fetched: HistoryEntry?, requeueIfUnknown: Bool, at now: Moment,
        into actions: inout [Action]
    ) {
        guard let active = jobs[id], active.finalizing else { return }
        guard let nodeEntry = fetched ?? relayedEntry(id), active.job.node == node else {
            jobs[id]?.finalizing = false
            if requeueIfUnknown {
                actions.append(.log(Log(.warning, "node forgot a job; requeued", ["prompt.id": id, "node.name": node])))
                requeue(id, from: node, into: &actions)
            }
            return
        }
        let entry = HistoryEntry(
            prompt: active.job.queueItem, outputs: OutputNames.present(nodeEntry.outputs, node: node),
            status: nodeEntry.status, meta: nodeEntry.meta)
        jobs[id]?.ending = (.ran(nodeEntry: nodeEntry), entry)
        actions.append(.commit(job: id, node: node, entry: entry))
    }

    /// A node refused the prompt at dispatch (or it was quarantined): the client hears an execution_error and history
    /// keeps it.
    mutating func refuse(_ id: String, node: String, answer: JSONValue, at now: Moment, into actions: inout [Action]) {
        guard let active = jobs[id] else { return }
        let error = answer["error"]
        let firstNode = answer["node_errors"]?.objectValue?.keys.first ?? ""
        let failure = ExecutionError(
            promptID: id, nodeID: firstNode, nodeType: answer["node_errors"]?[firstNode]?["class_type"]?.stringValue ?? "",
            executed: [],
            exceptionMessage: "\(error?["message"]?.stringValue ?? "Prompt rejected by node \(node)"): \(error?["details"]?.stringValue ?? "")",
            exceptionType: error?["type"]?.stringValue ?? "prompt_rejected", traceback: [],
            currentInputs: answer["node_errors"] ?? [:], currentOutputs: [], timestamp: now.epochMilliseconds)
        let message = ServerMessage.executionError(failure)
        let status = HistoryStatus(
            statusStr: "error", completed: false,
            messages: [StatusMessage(event: "execution_error", data: message.json["data"]?.objectValue ?? [:])])
        let entry = HistoryEntry(prompt: active.job.queueItem, outputs: [:], status: status, meta: [:])
        jobs[id]?.finalizing = true
        jobs[id]?.ending = (.refused(message), entry)
        actions.append(.commit(job: id, node: node, entry: entry))
    }

    /// The store has the job's end (or could not take it: the job stays, and its node's queue says again that it ended).
    mutating func committed(_ id: String, on node: String, ok: Bool, into actions: inout [Action]) {
        guard let active = jobs[id], let (ending, entry) = active.ending else { return }
        guard ok else {
            jobs[id]?.finalizing = false
            jobs[id]?.ending = nil
            return
        }
        jobs[id] = nil
        let owner = active.job.clientID
        switch ending {
        case .ran(let nodeEntry):
            actions.append(.finished(active, entry: entry, node: node, loadedBefore: nodes[node]?.loadedCheckpoint))
            nodes[node]?.ejection.succeeded()
            learn(from: nodeEntry, job: active, node: node)
            if nodes[node]?.currentPrompt == id { nodes[node]?.currentPrompt = nil }
            actions.append(.queueChanged)
            if let owner {
                tellMissedOutcome(of: active, entry: nodeEntry, node: node, to: owner, into: &actions)
                actions.append(.tell(.executing(node: nil, displayNode: nil, promptID: id), client: owner))
            }
            actions.append(.dispatch)
        case .refused(let message):
            actions.append(.finished(active, entry: entry, node: node, loadedBefore: nodes[node]?.loadedCheckpoint))
            if let owner { actions.append(.tell(message, client: owner)) }
            actions.append(.queueChanged)
            if let owner { actions.append(.tell(.executing(node: nil, displayNode: nil, promptID: id), client: owner)) }
        }
    }

    /// Learns from a finished job what its run says of the node and of its workflow shape (`FleetDispatcher.learn`).
    mutating func learn(from entry: HistoryEntry, job: FleetJob, node: String) {
        guard let state = nodes[node] else { return }
        var learning = FleetDispatcher.NodeLearning(speed: state.speed, loadSeconds: state.loadSeconds, loadedCheckpoint: state.loadedCheckpoint)
        dispatcher.learn(from: entry, of: job.requirements, on: &learning, assumedSpeed: effectiveSpeeds()[node] ?? state.speed.unitsPerSecond)
        nodes[node]?.speed = learning.speed
        nodes[node]?.loadSeconds = learning.loadSeconds
        nodes[node]?.loadedCheckpoint = learning.loadedCheckpoint
    }

    /// When the end was learned from the node's history rather than its socket (the link was down or reconnecting),
    /// the client still hears what it would have: each output's `executed` and the final
    /// `execution_success`/`execution_error`/`execution_interrupted`, taken from the history entry.
    func tellMissedOutcome(of active: FleetJob, entry: HistoryEntry, node: String, to owner: String, into actions: inout [Action]) {
        let terminal: Set<String> = ["execution_success", "execution_error", "execution_interrupted"]
        guard !active.relayedMessages.contains(where: { terminal.contains($0.event) }),
            let last = entry.status?.messages.last, terminal.contains(last.event)
        else { return }
        if active.relayedOutputs.isEmpty {
            for (graphNode, output) in entry.outputs {
                actions.append(
                    .tell(
                        .executed(
                            node: graphNode, displayNode: graphNode, output: OutputNames.present(output, node: node),
                            promptID: active.job.id), client: owner))
            }
        }
        if let message = try? ServerMessage(json: ["type": .string(last.event), "data": .object(last.data)]) {
            actions.append(.tell(message, client: owner))
        }
    }

    // MARK: Delivering and posting

    mutating func posted(_ id: String, on node: String, _ result: PostResult, at now: Moment, into actions: inout [Action]) {
        guard let active = jobs[id], active.job.node == node, nodes[node] != nil else { return }
        switch result {
        case .accepted:
            // From now on the node has it: a `/queue` answer asked well after this that lacks it means it ended.
            jobs[id]?.postedAt = now.seconds
        case .missingFile(let problem):
            actions.append(.log(Log(.info, "a file the prompt reads is gone", ["prompt.id": id, "node.name": node, "problem": problem])))
            refuse(
                id, node: node,
                answer: [
                    "error": ["type": "missing_file", "message": "A file the prompt reads is no longer available", "details": .string(problem)],
                    "node_errors": [:]
                ], at: now, into: &actions)
        case .deliveryFailed(let problem):
            // The node is held back until its next good poll, so a failing node does not spin the dispatcher.
            actions.append(
                .log(Log(.warning, "could not deliver the prompt's files; requeued", ["prompt.id": id, "node.name": node, "problem": problem])))
            nodeFailed(node, at: now, into: &actions)
            suspect(node)
            requeue(id, from: node, into: &actions)
        case .lostCopies:
            actions.append(
                .log(
                    Log(
                        .warning, "the node lost copies Conductor had delivered; requeued to send them again",
                        ["prompt.id": id, "node.name": node])))
            jobs[id]?.lostCopyRetries += 1
            requeue(id, from: node, into: &actions)
        case .refused(let answer):
            refuse(id, node: node, answer: answer, at: now, into: &actions)
        case .failed(let status):
            actions.append(.log(Log(.warning, "node answered \(status) to a prompt; requeued", ["prompt.id": id, "node.name": node])))
            nodeFailed(node, at: now, into: &actions)
            requeue(id, from: node, into: &actions)
        case .notSent:
            requeue(id, from: node, into: &actions)
        case .unreachable(let problem):
            actions.append(.log(Log(.warning, "could not reach node; requeued", ["prompt.id": id, "node.name": node, "error": problem])))
            suspect(node)
            requeue(id, from: node, into: &actions)
        }
    }

    /// A node that failed a delivery or a post is held back until its next good poll.
    mutating func suspect(_ node: String) {
        if nodes[node]?.health == .up { nodes[node]?.health = .suspect }
    }

    // MARK: Failures of nodes, not of workflows

    /// A job lost to its node (the node died, or the job overran its time there): it goes back to the fleet queue,
    /// preferably to another node, unless that has now happened `limits.maxNodeFailures` times — then it is
    /// quarantined: failed with an error saying why, not retried forever.
    mutating func jobFailedOnNode(_ id: String, node: String, why: String, at now: Moment, into actions: inout [Action]) {
        guard var active = jobs[id], active.job.node == node, !active.finalizing else { return }
        nodeFailed(node, at: now, into: &actions)
        active.nodeFailures += 1
        active.requirements.excludedNodes.insert(node)
        let failed = active.requirements.excludedNodes.sorted()
        // Avoiding the nodes it failed on is a preference: with no other node able to run it, any may try again.
        if !capabilitySnapshots().contains(where: { !$0.classTypes.isEmpty && Scheduler.canRun(active.requirements, on: $0) }) {
            active.requirements.excludedNodes = []
        }
        jobs[id] = active
        if active.nodeFailures >= limits.maxNodeFailures {
            actions.append(.log(Log(.warning, "job quarantined", ["prompt.id": id, "nodes": "\(failed)"])))
            refuse(
                id, node: node,
                answer: [
                    "error": [
                        "type": "job_quarantined",
                        "message": .string("The job was lost \(active.nodeFailures) times with its node and is not retried"),
                        "details": .string("\(why); lost on \(failed.joined(separator: ", "))")
                    ],
                    "node_errors": [:]
                ], at: now, into: &actions)
            return
        }
        actions.append(.log(Log(.warning, "job lost to its node; requeued", ["prompt.id": id, "node.name": node, "why": why])))
        requeue(id, from: node, into: &actions)
    }

    /// Counts a failure of the node (not of a workflow); see `Ejection` for when it is ejected, and for how long.
    mutating func nodeFailed(_ name: String, at now: Moment, into actions: inout [Action]) {
        guard let seconds = nodes[name]?.ejection.failed(at: now.seconds, limits: limits) else { return }
        actions.append(
            .log(
                Log(
                    .warning, "node ejected",
                    [
                        "node.name": name, "failures": "\(nodes[name]?.ejection.consecutiveFailures ?? 0)",
                        "seconds": "\(seconds)"
                    ])))
    }

    /// Interrupts and requeues elsewhere every job running far past its prediction (`limits.runTimeMultiple` ×
    /// predicted, and at least `limits.runTimeFloorSeconds`).
    mutating func enforceRunTimeLimits(at now: Moment, into actions: inout [Action]) {
        let running = jobs.values.filter { $0.job.state == .running && !$0.finalizing }.compactMap { active in
            active.startedAt.map { JobWatch.Running(id: active.job.id, startedAt: $0, predictedSeconds: active.predictedSeconds) }
        }
        for id in JobWatch.overrun(running, at: now.seconds, limits: limits) {
            guard let active = jobs[id], active.job.state == .running, !active.finalizing, let node = active.job.node, nodes[node] != nil
            else { continue }
            let limit = max(limits.runTimeFloorSeconds, limits.runTimeMultiple * (active.predictedSeconds ?? 0))
            jobFailedOnNode(id, node: node, why: "it ran \(Int(limit)) s, past its time limit, on \(node)", at: now, into: &actions)
            actions.append(.interrupt(job: id, node: node))
        }
    }

    /// Jobs waiting in the queue of a node that has been without its WebSocket too long go back to the fleet queue, and
    /// are deleted from the node's queue so it does not run them too. A job already running there stays: the node's
    /// `/queue` polls still tell when it ends, and its history is read as usual.
    mutating func releaseJobsOfUnlinkedNodes(at now: Moment, into actions: inout [Action]) {
        for name in nodeOrder where isUnlinked(name, at: now.seconds) {
            let waiting = jobs(on: name).filter { !$0.finalizing && $0.job.state == .dispatched }.map(\.job.id)
            guard !waiting.isEmpty else { continue }
            actions.append(
                .log(
                    Log(
                        .warning, "node without its websocket: its waiting jobs go back to the queue",
                        ["node.name": name, "jobs": "\(waiting.count)"])))
            for id in waiting { requeue(id, from: name, into: &actions) }
            actions.append(.removeFromQueue(waiting, node: name))
        }
    }
}

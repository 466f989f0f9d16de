import ComfyWire
import Foundation

extension SimulatedNode {
    /// The single execution worker: takes the lowest-numbered prompt and runs it, one at a time.
    public func runWorker() async {
        let (signal, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        workSignal = continuation
        continuation.yield()
        for await _ in signal {
            while !Task.isCancelled, running == nil, let item = pending.pop() {
                await execute(item)
            }
        }
    }

    /// Real time for simulated seconds; returns false when the node restarted meanwhile.
    func pause(simulatedSeconds: Double, generation: Int) async -> Bool {
        let real = simulatedSeconds * profile.timeScale
        if real > 0 {
            try? await Task.sleep(for: .seconds(real))
        } else {
            await Task.yield()
        }
        while faults.hang && !interruptRequested || faults.frozen, self.generation == generation, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return self.generation == generation && !Task.isCancelled
    }

    /// Runs one prompt with ComfyUI's message sequence (comfyui-api.md §3.5).
    func execute(_ item: QueueItem) async {
        let generation = self.generation
        running = item
        interruptRequested = false
        let owner = item.clientID
        let promptID = item.promptID
        broadcastStatus()

        guard let graph = try? PromptGraph(json: item.prompt),
            let order = graph.executionOrder(outputs: item.outputsToExecute)
        else {
            running = nil
            return
        }
        var messages: [StatusMessage] = []
        func lifecycle(_ message: ServerMessage, broadcastWithoutOwner: Bool = false) {
            if case .object(let data) = message.json["data"] ?? .null {
                messages.append(StatusMessage(event: message.type, data: data))
            }
            if broadcastWithoutOwner { sendProgress(message, owner: owner) } else { send(message, to: owner) }
        }

        lifecycle(.executionStart(promptID: promptID, timestamp: Self.nowMilliseconds()))
        var signatures: [String: String] = [:]
        for id in order { signatures[id] = signature(of: id, in: graph, known: signatures) }
        let cachedIDs = order.filter { cache[signatures[$0]!] != nil }
        let outputCacheAtStart = cachedNodeIDs
        lifecycle(.executionCached(nodes: cachedIDs, promptID: promptID, timestamp: Self.nowMilliseconds()))

        var values: [String: [SimValue]] = [:]
        var outputs = JSONObject()
        var meta = JSONObject()
        var executed: [String] = []
        var states: [(id: String, progress: NodeProgress)] = []
        var usedCache: [String: CachedNode] = [:]
        var failFirst = faults.failNext > 0
        if failFirst { faults.failNext -= 1 }

        func progressState(_ id: String, value: JSONNumber, max: JSONNumber, state: String) {
            let entry = NodeProgress(
                nodeID: id, value: value, max: max, state: state, promptID: promptID,
                displayNodeID: id, parentNodeID: nil, realNodeID: id)
            if let index = states.firstIndex(where: { $0.id == id }) { states[index].progress = entry } else { states.append((id, entry)) }
            sendProgress(.progressState(promptID: promptID, nodes: states.map(\.progress)), owner: owner)
        }
        func record(_ id: String, ui: JSONValue?) {
            guard let ui else { return }
            outputs[id] = ui
            meta[id] = ["node_id": .string(id), "display_node": .string(id), "parent_node": .null, "real_node_id": .string(id)]
        }

        var stop: NodeStop?
        var failingNode: (id: String, type: String)?
        for id in order {
            guard let node = graph[id], let nodeClass = node.classType.flatMap({ catalog[$0] }) else { continue }
            let sig = signatures[id]!
            if let hit = cache[sig] {
                values[id] = hit.outputs
                usedCache[sig] = hit
                if nodeClass.isOutputNode {
                    send(.executed(node: id, displayNode: id, output: hit.ui ?? .null, promptID: promptID), to: owner)
                    if owner != nil { record(id, ui: hit.ui) }
                    progressState(id, value: JSONNumber(1.0), max: JSONNumber(1.0), state: "finished")
                }
                continue
            }
            progressState(id, value: JSONNumber(0.0), max: JSONNumber(1.0), state: "running")
            runningNode = id
            send(.executing(node: id, displayNode: id, promptID: promptID), to: owner)
            do {
                if failFirst {
                    failFirst = false
                    throw NodeStop.failed(type: "RuntimeError", message: faults.failMessage)
                }
                let result = try await run(
                    nodeClass, node: node, graph: graph, values: values, item: item,
                    generation: generation
                ) { step, total, withPreview in
                    progressState(id, value: JSONNumber(step), max: JSONNumber(total), state: "running")
                    if owner != nil, self.sockets[owner!]?.featureFlags["supports_preview_metadata"]?.boolValue == true {
                        if self.profile.previews, withPreview { self.sendPreview(promptID: promptID, node: id, owner: owner) }
                        self.sendProgress(.progress(value: JSONNumber(step), max: JSONNumber(total), promptID: promptID, node: id), owner: owner)
                    } else {
                        self.sendProgress(.progress(value: JSONNumber(step), max: JSONNumber(total), promptID: promptID, node: id), owner: owner)
                        if self.profile.previews, withPreview { self.sendPreview(promptID: promptID, node: id, owner: owner) }
                    }
                }
                values[id] = result.outputs
                usedCache[sig] = CachedNode(outputs: result.outputs, ui: result.ui)
                if let ui = result.ui {
                    send(.executed(node: id, displayNode: id, output: ui, promptID: promptID), to: owner)
                    record(id, ui: ui)
                }
                let finalValue = result.steps.map { JSONNumber($0) } ?? JSONNumber(1.0)
                progressState(id, value: finalValue, max: finalValue, state: "finished")
                executed.append(id)
            } catch let nodeStop as NodeStop {
                stop = nodeStop
                failingNode = (id, nodeClass.name)
                break
            } catch {
                stop = .failed(type: String(describing: type(of: error)), message: String(describing: error))
                failingNode = (id, nodeClass.name)
                break
            }
        }
        runningNode = nil
        if self.generation != generation { return }  // the node "restarted": this prompt never finishes

        let status: HistoryStatus
        switch stop {
        case nil:
            lifecycle(.executionSuccess(promptID: promptID, timestamp: Self.nowMilliseconds()))
            status = HistoryStatus(statusStr: "success", completed: true, messages: messages)
        case .failed(let type, let message)?:
            let failing = failingNode!
            let error = ExecutionError(
                promptID: promptID, nodeID: failing.id, nodeType: failing.type, executed: executed,
                exceptionMessage: message + "\n", exceptionType: type,
                traceback: ["  File \"COMFYUI/execution.py\", line 518, in execute\n    <simulated>\n"],
                currentInputs: .object(currentInputs(graph[failing.id], graph: graph)),
                currentOutputs: .array(outputCacheAtStart.map(JSONValue.string)),
                timestamp: Self.nowMilliseconds())
            lifecycle(.executionError(error))
            status = HistoryStatus(statusStr: "error", completed: false, messages: messages)
        case .interrupted?, .abandoned?:
            let failing = failingNode!
            lifecycle(
                .executionInterrupted(
                    ExecutionInterrupted(
                        promptID: promptID, nodeID: failing.id, nodeType: failing.type, executed: executed,
                        timestamp: Self.nowMilliseconds())), broadcastWithoutOwner: true)
            status = HistoryStatus(statusStr: "error", completed: false, messages: messages)
        }
        for (sig, node) in usedCache { cache[sig] = node }
        cachedNodeIDs = order.filter { usedCache[signatures[$0]!] != nil }
        if cache.count > usedCache.count * 4 + 64 { cache = usedCache }  // classic cache: roughly the last prompts
        history.insert(
            HistoryEntry(prompt: item, outputs: outputs, status: status, meta: meta), id: promptID,
            cap: Self.maximumHistory)
        executionCount += 1
        running = nil
        broadcastStatus()
        send(.executing(node: nil, displayNode: nil, promptID: promptID), to: owner)
    }

    /// `execution_error.current_inputs`: each input as a one-element list; links as their value's text.
    func currentInputs(_ node: PromptGraph.Node?, graph: PromptGraph) -> JSONObject {
        guard let node else { return [:] }
        var out = JSONObject()
        for (name, value) in node.inputs {
            switch PromptGraph.Input(value) {
            case .literal(let literal): out[name] = [literal]
            case .link(let source, let slot):
                let type = graph[source]?.classType.flatMap { catalog[$0] }.flatMap { slot < $0.outputs.count ? $0.outputs[slot].type : nil }
                out[name] = [.string("<simulated \(type ?? "value") from node \(source)>")]
            }
        }
        return out
    }

    /// ComfyUI's cache key: class, literal inputs and the keys of everything upstream (not node ids).
    func signature(of id: String, in graph: PromptGraph, known: [String: String]) -> String {
        guard let node = graph[id] else { return id }
        var parts = [node.classType ?? ""]
        for (name, value) in node.inputs {
            switch PromptGraph.Input(value) {
            case .link(let source, let slot): parts.append("\(name)=<\(known[source] ?? source)>[\(slot)]")
            case .literal(let literal): parts.append("\(name)=\(literal.jsonString(.compact))")
            }
        }
        if node.classType == "LoadImage" || node.classType == "LoadImageMask",
            let file = node.inputs["image"]?.stringValue, let data = try? files.read(reference: file)
        {
            parts.append("content=\(data.count):\(data.hashValue)")
        }
        return parts.joined(separator: "|")
    }
}

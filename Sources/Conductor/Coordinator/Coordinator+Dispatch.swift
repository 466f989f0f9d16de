import ComfyWire
import ConductorCore
import Foundation
import Logging
import NIOHTTP1

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

    /// Each node's speed as the scheduler uses it (`FleetDispatcher.effectiveSpeeds`).
    func effectiveSpeeds() -> [String: Double] { fleet.effectiveSpeeds() }

    /// One dispatch round of the state machine (`FleetStateMachine.dispatch`): each job placed is handed to its node's
    /// send lane, so the pass never waits on a node.
    func dispatchPass() async {
        let decisionStarted = ContinuousClock.now
        guard let actions = fleet.dispatch(at: moment, holders: fileHolders(for:), transferBytesPerSecond: config.files.transferBytesPerSecond)
        else { return }
        metrics.recordDispatchDecision(.now - decisionStarted)
        await perform(actions)
    }

    /// The node's lane delivers a job's files and posts it, if it is still that node's job to take; the outcome is the
    /// state machine's next event.
    func send(_ id: String, to name: String) async {
        guard let job = fleet.awaitsPost(id, on: name), let node = nodes[name] else { return }
        guard let result = await post(job, to: node) else { return }
        await apply(.posted(job: id, node: name, result))
        if case .accepted = result { await trimCopies(on: node) }
    }

    /// Delivers a job's files to its node and POSTs it under Conductor's client id, keeping the client's prompt_id;
    /// nil when the job stopped being the node's meanwhile.
    func post(_ job: Job, to node: NodeState) async -> FleetStateMachine.PostResult? {
        var extra = job.extraData
        extra.removeValue(forKey: "client_id")
        extra.removeValue(forKey: "create_time")
        let prompt: JSONValue
        do {
            prompt = try await self.prompt(job.prompt, deliveredTo: node)
        } catch {
            switch error {
            case .missing(let problem): return .missingFile(problem)
            case .node(let problem): return .deliveryFailed(problem)
            }
        }
        // Delivering files awaited: the job may have been cancelled or moved, or the node removed, meanwhile.
        guard fleet.awaitsPost(job.id, on: node.config.name) != nil else { return nil }
        let body: JSONValue = [
            "prompt": prompt, "client_id": .string(node.sid), "prompt_id": .string(job.id),
            "extra_data": .object(extra)
        ]
        do {
            let response = try await node.client.send(.POST, "/prompt", json: body, timeout: 30)
            switch response.status {
            case 200:
                logger.debug("dispatched", metadata: ["prompt.id": "\(job.id)", "node.name": "\(node.config.name)"])
                return .accepted
            case 400 where await forgetLostCopies(of: job, on: node, rejection: response.body):
                return .lostCopies
            case 400:
                logger.info(
                    "node rejected the prompt",
                    metadata: [
                        "prompt.id": "\(job.id)", "node.name": "\(node.config.name)",
                        "body": "\(String(decoding: response.body.prefix(500), as: UTF8.self))"
                    ])
                return .refused(response.json ?? .null)
            default:
                return .failed(status: response.status)
            }
        } catch {
            return .unreachable("\(error)")
        }
    }

    /// Checks the run-time limits and the nodes without their WebSocket once a second until cancelled.
    public func runWatchdog() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            await apply(.tick)
        }
    }

    /// Whether the node's WebSocket has been gone longer than `limits.nodeWebSocketGraceSeconds`.
    func isUnlinked(_ name: String) -> Bool { fleet.isUnlinked(name, at: secondsSinceStart) }
}

extension Logger {
    func with(_ metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}

import AsyncHTTPClient
import ComfyWire
import ConductorCore
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import Synchronization

/// Something a node link saw: the coordinator folds these into its state, one at a time.
public enum NodeEvent: Sendable {
    case message(node: String, ServerMessage)
    case binary(node: String, [UInt8])
    case webSocket(node: String, connected: Bool)
    case stats(node: String, JSONValue)
    /// The node's `/queue`, as it was when the request was sent (`asked`).
    case queue(node: String, QueueStatus, asked: ContinuousClock.Instant)
    case objectInfo(node: String, JSONValue)
    case health(node: String, NodeHealth)

    /// The node the event is about.
    public var node: String {
        switch self {
        case .message(let node, _), .binary(let node, _), .webSocket(let node, _), .stats(let node, _), .queue(let node, _, _),
            .objectInfo(let node, _), .health(let node, _):
            node
        }
    }
}

/// One live link to a ComfyUI node: a WebSocket under Conductor's own client id (reconnecting with
/// backoff) and polls of `/system_stats`, `/queue` and `/object_info`, with a health verdict.
/// Where the node links put their events for the coordinator: a bounded stream. At most `limit` events wait; when the
/// coordinator is that far behind, each new event is dropped and counted (`conductor_node_events_dropped_total`). A
/// dropped message costs a client a progress step or a preview; a job's end is still learned from the node's next
/// `/queue` poll and its `/history`, and polls (health, queue, stats) come again each interval.
public struct NodeEventSink: Sendable {
    let continuation: AsyncStream<NodeEvent>.Continuation
    let dropped: @Sendable (NodeEvent) -> Void

    public static func makeStream(limit: Int, dropped: @escaping @Sendable (NodeEvent) -> Void) -> (AsyncStream<NodeEvent>, NodeEventSink) {
        let (stream, continuation) = AsyncStream<NodeEvent>.makeStream(bufferingPolicy: .bufferingOldest(limit))
        return (stream, NodeEventSink(continuation: continuation, dropped: dropped))
    }

    func yield(_ event: NodeEvent) {
        if case .dropped = continuation.yield(event) { dropped(event) }
    }

    func finish() { continuation.finish() }
}

public struct NodeLink: Service {
    public let client: NodeClient
    /// Conductor's client id on this node; prompts are dispatched under it so the node sends their events here.
    public let sid: String
    let pollInterval: Double
    let objectInfoInterval: Double
    let events: NodeEventSink
    let logger: Logger
    /// A node sends each message as one frame (a preview JPEG, an `executed` with many images): accept up to the
    /// largest message read, not the library's 16 KB default, which would drop the socket on the first real preview.
    /// A ping every 5 s, and the socket closed when one goes unanswered for a period: a connection half-closed or
    /// dropped by something in between (a proxy, a load balancer, a NAT) is noticed even when no FIN arrives.
    static let webSocket = WebSocketClientConfiguration(
        maxFrameSize: 64 << 20, closeTimeout: .seconds(2),
        autoPing: .enabled(timePeriod: .seconds(5)))
    /// A socket that has not said its first message this long after the connect began is given up and tried again
    /// (a relay that accepts the TCP connection, or half-closes it, but never completes the upgrade): ten poll
    /// intervals, at least 5 s (a loaded machine may take seconds to complete a healthy one).
    var handshakeTimeout: Duration { .milliseconds(Int64(max(5, pollInterval * 10) * 1000)) }

    public init(
        client: NodeClient, sid: String, pollInterval: Double, objectInfoInterval: Double,
        events: NodeEventSink, logger: Logger
    ) {
        self.client = client
        self.sid = sid
        self.pollInterval = pollInterval
        self.objectInfoInterval = objectInfoInterval
        self.events = events
        var logger = logger
        logger[metadataKey: "node.name"] = .string(client.name)
        self.logger = logger
    }

    public func run() async throws {
        // A link has nothing to finish: on shutdown it simply stops.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await runWebSocket() }
                group.addTask { await runPolls() }
                await group.waitForAll()
            }
        }
    }

    /// Keeps the WebSocket open, reconnecting with capped exponential backoff and jitter (so a fleet's links do not
    /// reconnect in step after Conductor's network blips).
    func runWebSocket() async {
        var backoff = 0.1
        let name = client.name
        while !Task.isCancelled {
            let opened = ManagedFlag()
            do {
                let (url, configuration, logger, events) = (client.webSocketURL(clientID: sid), Self.webSocket, logger, events)
                try await Self.withDeadline(handshakeTimeout, unless: opened) {
                    try await Self.untilCancelled {
                        try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) {
                            inbound, outbound, _ in
                            // Ask for previews with metadata: they carry the prompt_id (comfyui-api.md §3.7).
                            let flags: JSONValue = ["type": "feature_flags", "data": ["supports_preview_metadata": true]]
                            try await outbound.write(.text(flags.jsonString(.compact)))
                            // Cancelled (Conductor stopping, the node removed): close the socket, so reading ends even when
                            // the node does not.
                            try await withTaskCancellationHandler {
                                for try await message in inbound.messages(maxSize: 64 << 20) {
                                    // Connected means the node has registered this socket, which it has once it sends its first
                                    // message (the initial `status`); a prompt dispatched earlier would run unheard.
                                    if !opened.value {
                                        opened.set()
                                        events.yield(.webSocket(node: name, connected: true))
                                    }
                                    switch message {
                                    case .text(let text):
                                        guard let value = try? JSONValue(parsing: text), let parsed = try? ServerMessage(json: value) else {
                                            continue
                                        }
                                        events.yield(.message(node: name, parsed))
                                    case .binary(let buffer):
                                        events.yield(.binary(node: name, Array(buffer.readableBytesView)))
                                    }
                                }
                            } onCancel: {
                                Task { try? await outbound.close(.goingAway, reason: "Conductor is stopping") }
                            }
                        }
                    }
                }
            } catch {
                logger.debug("node websocket failed", metadata: ["error": "\(error)"])
            }
            if opened.value {
                events.yield(.webSocket(node: name, connected: false))
                backoff = 0.1
            }
            guard !Task.isCancelled else { return }
            try? await Task.sleep(for: .seconds(backoff * Double.random(in: 0.5...1.5)))
            backoff = min(backoff * 2, 5)
        }
    }

    /// Runs `operation`; throws `NodeLinkError.handshakeTimeout` (cancelling it) when `flag` is not set by `timeout`.
    static func withDeadline(_ timeout: Duration, unless flag: ManagedFlag, _ operation: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await operation()
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                if !flag.value { throw NodeLinkError.handshakeTimeout }
                return false
            }
            // The operation ending ends the wait; the deadline passing with the flag set leaves the operation running.
            while let ended = try await group.next() {
                if ended { break }
            }
            group.cancelAll()
        }
    }

    /// Runs `operation` until it ends or the calling task is cancelled, whichever comes first. On cancellation the
    /// operation is cancelled too but not waited for: a socket stuck in its handshake must not hold up shutdown.
    static func untilCancelled(_ operation: @escaping @Sendable () async throws -> Void) async throws {
        let wait = OutcomeWait()
        let task = Task {
            do {
                try await operation()
                wait.finish(.success(()))
            } catch {
                wait.finish(.failure(error))
            }
        }
        try await withTaskCancellationHandler {
            try await wait.value()
        } onCancel: {
            task.cancel()
            wait.finish(.failure(CancellationError()))
        }
    }

    /// Polls stats and queue every interval, object_info on (re)connect and periodically; judges health.
    func runPolls() async {
        var health = HealthTracker()
        var lastObjectInfo: ContinuousClock.Instant?
        let name = client.name
        while !Task.isCancelled {
            var ok = true
            do {
                let stats = try await client.get("/system_stats", timeout: max(2, pollInterval * 3))
                let asked = ContinuousClock.now
                let queue = try await client.get("/queue", timeout: max(2, pollInterval * 3))
                guard stats.status == 200, queue.status == 200, let statsJSON = stats.json, let queueJSON = queue.json,
                    let queueStatus = try? QueueStatus(json: queueJSON)
                else { throw NodeLinkError.badAnswer }
                events.yield(.stats(node: name, statsJSON))
                events.yield(.queue(node: name, queueStatus, asked: asked))
                let due = lastObjectInfo.map { ContinuousClock.now - $0 > .seconds(objectInfoInterval) } ?? true
                if due || health.state != .up {
                    let info = try await client.get("/object_info", timeout: 30)
                    if info.status == 200, let json = info.json {
                        events.yield(.objectInfo(node: name, json))
                        lastObjectInfo = .now
                    }
                }
            } catch {
                ok = false
                logger.debug("node poll failed", metadata: ["error": "\(error)"])
            }
            if let changed = health.record(success: ok) {
                logger.info("node health", metadata: ["health": "\(changed.rawValue)"])
                events.yield(.health(node: name, changed))
            }
            // After a failed poll the next comes sooner: three failures in a row still make a node down (hysteresis),
            // but a dead node is noticed within about two poll intervals rather than three.
            try? await Task.sleep(for: .seconds(ok ? pollInterval : pollInterval / 2))
        }
    }
}

enum NodeLinkError: Error {
    case badAnswer
    case handshakeTimeout
}

/// Health with hysteresis: one failed poll makes a node suspect, three make it down; coming back
/// from down takes two good polls in a row.
struct HealthTracker {
    private(set) var state: NodeHealth = .down
    private var failures = 0
    private var successes = 0
    private var everUp = false

    /// Records a poll; returns the new state when it changed.
    mutating func record(success: Bool) -> NodeHealth? {
        let before = state
        if success {
            successes += 1
            failures = 0
            // The first contact, or a single blip, is trusted at once; a node that was down proves itself twice.
            if state != .down || !everUp || successes >= 2 {
                state = .up
                everUp = true
            }
        } else {
            failures += 1
            successes = 0
            state = failures >= 3 || state == .down ? .down : .suspect
        }
        return state == before ? nil : state
    }
}

/// A flag set once from inside a closure.
final class ManagedFlag: Sendable {
    private let storage = Mutex(false)
    var value: Bool { storage.withLock { $0 } }
    func set() { storage.withLock { $0 = true } }
}

/// One outcome awaited once: the first `finish` decides it, whether it comes before or after `value()`.
final class OutcomeWait: Sendable {
    private let state = Mutex<(waiter: CheckedContinuation<Void, any Error>?, outcome: Result<Void, any Error>?)>((nil, nil))

    func finish(_ outcome: Result<Void, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: outcome)
    }

    func value() async throws {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = state.withLock { state -> Result<Void, any Error>? in
                if state.outcome == nil { state.waiter = continuation }
                return state.outcome
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }
}

import AsyncHTTPClient
import ComfyWire
import ConductorCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWSClient
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// What a coordinator that does not lead answers: every request and WebSocket is passed to the leader, so a client
/// may talk to any coordinator and see one ComfyUI. Only its own probes are answered here.
///
/// A client socket outlives the leader: when the leader's socket closes (the leader died), the follower connects to
/// the next leader with the same `clientId` and the client's first message (its feature flags) again, and the
/// client keeps hearing its jobs, whose ends the new leader reads from the nodes.
struct FollowerRoutes {
    let leadership: Leadership
    let http: HTTPClient
    /// The same keys and host rules as the leader's: a follower checks a request before passing it on (the leader
    /// checks it again), and answers a refused WebSocket upgrade itself.
    let auth: ClusterConfig.Auth
    let logger: Logger
    /// How long a client socket waits for a leader before it is closed.
    var leaderWaitSeconds: Double = 30

    /// Request headers that belong to one hop.
    static let hopHeaders: Set<String> = [
        "connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer", "proxy-connection", "content-length"
    ]

    func buildRouter() -> Router<ConductorRequestContext> {
        let router = Router(context: ConductorRequestContext.self)
        router.middlewares.add(FrontDoorMiddleware(door: FrontDoor(auth)))
        router.get("/healthz") { _, _ in FileRoutes.text(.ok, "ok\n") }
        router.get("/readyz") { _, _ in
            // Ready when there is a leader to pass submits to: it answers for the queue's durability.
            guard let leader = leadership.leaderURL else {
                return FileRoutes.text(.serviceUnavailable, "no coordinator leads the fleet yet\n")
            }
            return FileRoutes.text(.ok, "ready: following the leader at \(leader)\n")
        }
        for path in ["/ws", "/api/ws"] {
            router.ws(RouterPath(path)) { _, _ in
                .upgrade([:])
            } onUpgrade: { inbound, outbound, context in
                try await relay(inbound: inbound, outbound: outbound, request: context.request)
            }
        }
        let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options]
        for path in ["/", "**", "/api/**"] {
            for method in methods {
                router.on(RouterPath(path), method: method) { request, _ in try await forward(request) }
            }
        }
        return router
    }

    static func noLeader() -> Response {
        ConductorRoutes.json(
            [
                "error": [
                    "type": "no_leader", "message": "No coordinator leads the fleet at the moment",
                    "details": "Retry after 1 s", "extra_info": [:]
                ], "node_errors": [:]
            ], status: .serviceUnavailable, retryAfter: 1)
    }

    /// The request to the leader: method, path and query, headers (Host included, so the leader's host checks and
    /// links see the client's), body streamed; the answer streamed back.
    func forward(_ request: Request) async throws -> Response {
        guard let leader = leadership.leaderURL else { return Self.noLeader() }
        var outgoing = HTTPClientRequest(url: leader + request.uri.description)
        outgoing.method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers where !Self.hopHeaders.contains(field.name.canonicalName) {
            outgoing.headers.add(name: field.name.rawName, value: field.value)
        }
        if let host = request.head.authority { outgoing.headers.replaceOrAdd(name: "Host", value: host) }
        outgoing.headers.add(name: "X-Forwarded-By", value: leadership.id)
        if request.method != .get, request.method != .head {
            let length = request.headers[.contentLength].flatMap { Int64($0) }
            outgoing.body = .stream(request.body, length: length.map { .known($0) } ?? .unknown)
        }
        let answer: HTTPClientResponse
        do {
            answer = try await http.execute(outgoing, timeout: .hours(1))
        } catch {
            logger.warning("could not reach the leader", metadata: ["leader": "\(leader)", "error": "\(error)"])
            return Self.noLeader()
        }
        var headers = HTTPFields()
        for (name, value) in answer.headers where !Self.hopHeaders.contains(name.lowercased()) {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        if let length = answer.headers.first(name: "content-length") {
            headers[.contentLength] = length
        }
        return Response(
            status: HTTPResponse.Status(code: Int(answer.status.code)), headers: headers,
            body: ResponseBody(asyncSequence: answer.body))
    }

    /// Pipes a client socket to the leader's, reconnecting to each new leader until the client leaves.
    func relay(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request) async throws {
        var query = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        var sid = request.uri.queryParameters.get("clientId") ?? ""
        if sid.isEmpty {
            // The client's id is fixed here, so every leader it is passed to knows it by the same one.
            sid = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            query.removeAll { $0.0 == "clientId" }
            query.append(("clientId", sid))
        }
        let path: String = request.uri.path + "?" + query.map { "\(FleetProxy.encode($0.0))=\(FleetProxy.encode($0.1))" }.joined(separator: "&")
        var headers = HTTPFields()
        // Not the Origin: the follower checked it against its own Host above; the leader sees the follower's socket.
        for name in [HTTPField.Name.authorization, .cookie, .userAgent] {
            if let value = request.headers[name] { headers[name] = value }
        }
        if let host = request.head.authority { headers[HTTPField.Name("X-Forwarded-Host")!] = host }
        let first = FirstMessage()
        let upstreamHeaders = headers
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The client's side: only its first text (feature flags) matters to ComfyUI; it is kept for each leader.
            // The client leaving ends this task, and with it the relay.
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .text(let text) = message { await first.keep(text) }
                }
            }
            group.addTask { [self] in try await pipe(path: path, headers: upstreamHeaders, first: first, to: outbound) }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// The leader's frames to the client, from one leader after another; returns when no leader was reachable for
    /// `leaderWaitSeconds` (the client's socket then closes, and it reconnects as ComfyUI clients do).
    func pipe(path: String, headers: HTTPFields, first: FirstMessage, to outbound: WebSocketOutboundWriter) async throws {
        var deadline = ContinuousClock.now + .seconds(leaderWaitSeconds)
        while ContinuousClock.now < deadline {
            // Elected meanwhile: the socket closes, and the client comes back to the fleet this process now runs.
            if case .leading = leadership.role { return }
            guard let leader = leadership.leaderURL else {
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            let url = (leader.hasPrefix("https") ? "wss" : "ws") + leader.drop { $0 != ":" } + path
            let connected = Connected()
            do {
                _ = try await WebSocketClient.connect(
                    url: url, configuration: .init(maxFrameSize: 1 << 24, additionalHeaders: headers, validateUTF8: false),
                    logger: logger
                ) { upstream, upstreamOut, _ in
                    connected.set()
                    try await withThrowingTaskGroup(of: Void.self) { greeting in
                        greeting.addTask { try await upstreamOut.write(.text(try await first.next())) }
                        for try await message in upstream.messages(maxSize: 1 << 24) {
                            switch message {
                            case .text(let text): try await outbound.write(.text(text))
                            case .binary(let bytes): try await outbound.write(.binary(bytes))
                            }
                        }
                        greeting.cancelAll()
                    }
                }
            } catch let error as CancellationError {
                throw error
            } catch {
                logger.warning("the leader's socket failed", metadata: ["leader": "\(leader)", "error": "\(error)"])
            }
            try Task.checkCancellation()
            // The leader went away: wait for the next one, a full wait again if this one was reached.
            if connected.value { deadline = .now + .seconds(leaderWaitSeconds) }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// Whether a connection attempt reached its peer.
final class Connected: Sendable {
    private let flag = Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var value: Bool { flag.withLock { $0 } }
}

/// The client's first text message, kept to greet each leader with.
actor FirstMessage {
    private var text: String?

    func keep(_ message: String) {
        if text == nil { text = message }
    }

    /// The message, once the client has sent it.
    func next() async throws -> String {
        while true {
            if let text { return text }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

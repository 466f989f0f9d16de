import AsyncHTTPClient
import ComfyWire
import ConductorCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOHTTP1

/// The ComfyUI API on one endpoint: every route as `/x` and `/api/x`, answered from the fleet.
public struct ConductorRoutes: Sendable {
    public typealias Context = ConductorRequestContext
    let coordinator: Coordinator
    /// Bodies forwarded to a node (a user's files under `/userdata`) larger than this are refused with 413, as
    /// ComfyUI's `--max-upload-size`.
    let maxBodyBytes: Int
    /// JSON bodies larger than this are refused with 413 (`limits.maxJsonBytes`).
    let maxJsonBytes: Int
    /// Uploads larger than this are refused with 413 (cluster.json `files.maxUploadBytes`).
    let maxUploadBytes: Int64

    /// API keys and allowed hosts; off by default.
    let auth: ClusterConfig.Auth

    public init(
        coordinator: Coordinator, maxBodyBytes: Int = 100 * 1024 * 1024, maxUploadBytes: Int64 = 100 << 20,
        maxJsonBytes: Int = ClusterConfig.Limits().maxJsonBytes, auth: ClusterConfig.Auth = .init()
    ) {
        self.coordinator = coordinator
        self.auth = auth
        self.maxBodyBytes = maxBodyBytes
        self.maxJsonBytes = maxJsonBytes
        self.maxUploadBytes = maxUploadBytes
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, retryAfter seconds: Int? = nil) -> Response {
        var response = json(bytes: value.serialized(.python), status: status)
        if let seconds { response.headers[.retryAfter] = String(seconds) }
        return response
    }

    static func json(bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func internalError() -> Response {
        Response(
            status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: "500 Internal Server Error\n\nServer got itself in trouble")))
    }

    /// A request's JSON body, or the response ComfyUI gives instead (500 for bad JSON, 413 for too big).
    enum JSONBody {
        case success(JSONValue)
        case failure(Response)
    }

    /// Reads at most `maxJsonBytes`: a larger declared length is refused before a byte is read, a chunked body as soon
    /// as it passes the limit, so a huge body costs no more memory than the limit.
    func readJSON(_ request: Request) async -> JSONBody {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maxJsonBytes {
            return .failure(Self.tooLarge(maxJsonBytes))
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxJsonBytes)
        } catch is NIOTooManyBytesError {
            return .failure(Self.tooLarge(maxJsonBytes))
        } catch {
            return .failure(Self.internalError())
        }
        do {
            return .success(try JSONValue(parsing: buffer.readableBytesView))
        } catch {
            return .failure(Self.internalError())
        }
    }

    static func tooLarge(_ limit: Int) -> Response {
        Response(
            status: .contentTooLarge, headers: [.contentType: "text/plain; charset=utf-8", .connection: "close"],
            body: .init(byteBuffer: ByteBuffer(string: "Maximum request body size \(limit) exceeded")))
    }

    public func buildRouter() -> Router<Context> {
        let router = Router(context: Context.self)
        router.add(middleware: HTTPMetricsMiddleware<Context>(metrics: coordinator.metrics))
        router.middlewares.add(FrontDoorMiddleware(door: FrontDoor(auth)))
        let coordinator = self.coordinator
        func both(_ path: String, _ method: HTTPRequest.Method, _ handler: @escaping @Sendable (Request, Context) async throws -> Response) {
            router.on(RouterPath(path), method: method, use: handler)
            router.on(RouterPath("/api" + path), method: method, use: handler)
        }

        for path in ["/ws", "/api/ws"] {
            router.ws(RouterPath(path)) { _, _ in
                .upgrade([:])
            } onUpgrade: { inbound, outbound, context in
                try await ClientSession(coordinator: coordinator)
                    .run(inbound: inbound, outbound: outbound, request: context.request)
            }
        }

        both("/prompt", .get) { _, _ in
            Self.json(["exec_info": ["queue_remaining": .int(await coordinator.queueRemaining)]])
        }
        both("/prompt", .post) { request, _ in
            switch await readJSON(request) {
            case .failure(let response): return response
            case .success(let body):
                return Self.json(try await coordinator.submit(body: body, principal: request.headers[FrontDoor.principalHeader]))
            }
        }
        both("/queue", .get) { _, _ in Self.json(await coordinator.queueJSON()) }
        both("/queue", .post) { request, _ in
            switch await readJSON(request) {
            case .failure(let response): return response
            case .success(let body):
                await coordinator.editQueue(
                    clear: body["clear"]?.isTruthy ?? false,
                    delete: body["delete"]?.arrayValue?.compactMap(\.stringValue) ?? [])
                return Response(status: .ok)
            }
        }
        both("/interrupt", .post) { request, _ in
            let buffer = try? await request.body.collect(upTo: maxJsonBytes)
            let body = buffer.flatMap { try? JSONValue(parsing: $0.readableBytesView) }
            await coordinator.interrupt(promptID: body?["prompt_id"]?.stringValue)
            return Response(status: .ok)
        }
        both("/free", .post) { request, _ in
            switch await readJSON(request) {
            case .failure(let response): return response
            case .success(let body):
                await coordinator.free(body)
                return Response(status: .ok)
            }
        }
        both("/history", .get) { request, _ in
            let parameters = request.uri.queryParameters
            guard let query = HistoryPageQuery(maxItems: parameters.get("max_items"), offset: parameters.get("offset")) else {
                return Self.internalError()
            }
            return Self.json(bytes: try await coordinator.historyBody(maxItems: query.maxItems, offset: query.offset))
        }
        both("/history/{prompt_id}", .get) { _, context in
            Self.json(bytes: try await coordinator.historyBody(promptID: context.parameters.get("prompt_id") ?? ""))
        }
        both("/history", .post) { request, _ in
            switch await readJSON(request) {
            case .failure(let response): return response
            case .success(let body):
                try await coordinator.editHistory(
                    clear: body["clear"]?.isTruthy ?? false,
                    delete: body["delete"]?.arrayValue?.compactMap(\.stringValue) ?? [])
                return Response(status: .ok)
            }
        }
        for prefix in ["/api/jobs", "/api/api/jobs"] {
            router.get(RouterPath(prefix)) { request, _ in
                var query: [String: String] = [:]
                for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
                let result = try await coordinator.jobsListing().list(query: query)
                return Self.json(result.body, status: .init(code: result.status))
            }
            router.get(RouterPath(prefix + "/{job_id}")) { _, context in
                guard let job = try await coordinator.jobsListing().job(id: context.parameters.get("job_id") ?? "") else {
                    return Self.json(["error": "Job not found"], status: .notFound)
                }
                return Self.json(job)
            }
        }
        let fileRoutes = FileRoutes(coordinator: coordinator, maxUploadBytes: maxUploadBytes)
        both("/view", .get) { request, _ in try await fileRoutes.view(request) }
        both("/upload/image", .post) { request, _ in await fileRoutes.upload(request, mask: false) }
        both("/upload/mask", .post) { request, _ in await fileRoutes.upload(request, mask: true) }
        both("/object_info", .get) { _, _ in Self.json(.object(await coordinator.fleetObjectInfo())) }
        both("/object_info/{node_class}", .get) { _, context in
            let name = context.parameters.get("node_class") ?? ""
            guard let info = await coordinator.fleetObjectInfo()[name] else { return Self.json([:]) }
            return Self.json([name: info])
        }
        both("/models", .get) { _, _ in try await FleetProxy(coordinator: coordinator).union("/models") }
        both("/models/{folder}", .get) { _, context in
            try await FleetProxy(coordinator: coordinator).union("/models/\(context.parameters.get("folder") ?? "")", sorted: true)
        }
        both("/embeddings", .get) { _, _ in try await FleetProxy(coordinator: coordinator).union("/embeddings", sorted: true) }
        both("/extensions", .get) { _, _ in try await FleetProxy(coordinator: coordinator).union("/extensions") }
        both("/system_stats", .get) { _, _ in Self.json(await coordinator.fleetSystemStats()) }
        both("/features", .get) { _, _ in Self.json(.object(Coordinator.features)) }
        both("/experiment/models/{folder}", .get) { _, context in
            try await FleetProxy(coordinator: coordinator).unionByName("/experiment/models/\(context.parameters.get("folder") ?? "")")
        }
        // The user's settings and files live on one node: reads and writes both go to the first healthy one,
        // so what the frontend saves reads back. The other GETs are here because their prefix is known to the
        // router, so the catch-alls below would not reach them.
        let forwarded: [(String, [HTTPRequest.Method])] = [
            ("/users", [.get, .post]), ("/settings", [.get, .post]), ("/settings/{id}", [.get, .post]),
            ("/userdata", [.get]), ("/userdata/**", [.get, .post, .delete]),
            ("/experiment/models", [.get]), ("/experiment/models/preview/**", [.get])
        ]
        for (path, methods) in forwarded {
            for method in methods {
                both(path, method) { request, _ in try await FleetProxy(coordinator: coordinator).forward(request, maxBodyBytes: maxBodyBytes) }
            }
        }
        // Probes for service managers: alive, and ready to run jobs (the store answers and a node is up).
        router.get("/healthz") { _, _ in FileRoutes.text(.ok, "ok\n") }
        router.get("/readyz") { _, _ in
            let ready = await coordinator.isReady()
            return FileRoutes.text(ready.ready ? .ok : .serviceUnavailable, ready.reason + "\n")
        }
        // The frontend's Logs panel subscribes its socket to a node's log; Conductor relays no node logs, so it
        // accepts the subscription and sends nothing (a node would not know Conductor's client ids).
        router.patch("/internal/logs/subscribe") { _, _ in Response(status: .ok) }
        // The operator's surface: admin API and dashboard under /conductor/, and /metrics.
        AdminRoutes(coordinator: coordinator, keysRequired: !auth.keys.isEmpty).add(to: router)
        // Everything else a browser or client GETs (the frontend's files, /userdata, /settings, /i18n, …)
        // comes from a healthy node.
        // The router does not fall back from a known prefix to "**", so the prefixes Conductor answers
        // itself get their own catch-alls.
        for path in ["/", "**", "/api/**", "/extensions/**", "/internal/**", "/internal/logs"] {
            router.get(RouterPath(path)) { request, _ in try await FleetProxy(coordinator: coordinator).forward(request) }
        }
        return router
    }
}

extension Coordinator.SubmitRefusal: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch self {
        case .invalid: .badRequest
        case .unavailable: .serviceUnavailable
        case .internal: .internalServerError
        }
    }

    /// ComfyUI's error body; a 503 says when to try again.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        switch self {
        case .invalid(let body): ConductorRoutes.json(body, status: status)
        case .unavailable(let body, let seconds): ConductorRoutes.json(body, status: status, retryAfter: seconds)
        case .internal: ConductorRoutes.internalError()
        }
    }
}

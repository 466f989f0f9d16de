import ComfyWire
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Builds the HTTP/WebSocket surface of a simulated node: every route as `/x` and `/api/x`.
public struct SimulatedNodeRoutes: Sendable {
    public let node: SimulatedNode

    public init(node: SimulatedNode) { self.node = node }

    public typealias Context = SimulatedNodeContext

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: value.serialized(.python))))
    }

    static func empty(_ status: HTTPResponse.Status = .ok) -> Response { Response(status: status) }

    /// aiohttp's answer to an exception in a handler.
    static func internalError() -> Response {
        Response(
            status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: "500 Internal Server Error\n\nServer got itself in trouble")))
    }

    static func tooLarge(_ limit: Int) -> Response {
        Response(
            status: .contentTooLarge, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: "Maximum request body size \(limit) exceeded, actual body size unknown")))
    }

    /// Reads a JSON body as ComfyUI does: invalid JSON is a 500, an oversize body a 413.
    static func readJSON(_ request: Request, limit: Int) async -> JSONBody {
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return .success(try JSONValue(parsing: buffer.readableBytesView))
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return .failure(tooLarge(limit))
        } catch {
            return .failure(internalError())
        }
    }

    /// A request's JSON body, or the error response ComfyUI would give instead.
    enum JSONBody {
        case success(JSONValue)
        case failure(Response)
    }

    public func buildRouter() -> Router<Context> {
        let router = Router(context: Context.self)
        let node = self.node
        let limit = node.profile.maxUploadBytes
        router.middlewares.add(FaultMiddleware(node: node))
        router.middlewares.add(OriginCheckMiddleware())

        func both(
            _ path: String, _ method: HTTPRequest.Method,
            _ handler: @escaping @Sendable (Request, Context) async throws -> Response
        ) {
            router.on(RouterPath(path), method: method, use: handler)
            router.on(RouterPath("/api" + path), method: method, use: handler)
        }

        for path in ["/ws", "/api/ws"] {
            router.ws(RouterPath(path)) { _, _ in
                await node.acceptsWebSockets ? .upgrade([:]) : .dontUpgrade
            } onUpgrade: { inbound, outbound, context in
                try await WebSocketSession(node: node).run(inbound: inbound, outbound: outbound, request: context.request)
            }
        }

        both("/prompt", .get) { _, _ in
            Self.json(["exec_info": ["queue_remaining": .int(await node.queueRemaining)]])
        }
        both("/prompt", .post) { request, _ in
            switch await Self.readJSON(request, limit: limit) {
            case .failure(let response): return response
            case .success(let body):
                let result = await node.submit(body: body, usageSource: request.headers[HTTPField.Name("Comfy-Usage-Source")!])
                return result.status == 500 ? Self.internalError() : Self.json(result.body, status: .init(code: result.status))
            }
        }
        both("/queue", .get) { _, _ in Self.json(await node.queueJSON()) }
        both("/queue", .post) { request, _ in
            switch await Self.readJSON(request, limit: limit) {
            case .failure(let response): return response
            case .success(let body):
                let delete = body["delete"]?.arrayValue?.compactMap(\.stringValue) ?? []
                await node.editQueue(clear: body["clear"]?.isTruthy ?? false, delete: delete)
                return Self.empty()
            }
        }
        both("/interrupt", .post) { request, _ in
            let body = try? JSONValue(parsing: (try? await request.body.collect(upTo: limit))?.readableBytesView ?? ByteBuffer().readableBytesView)
            await node.interrupt(promptID: body?["prompt_id"]?.stringValue)
            return Self.empty()
        }
        both("/free", .post) { request, _ in
            switch await Self.readJSON(request, limit: limit) {
            case .failure(let response): return response
            case .success(let body):
                await node.free(
                    unloadModels: body["unload_models"]?.isTruthy ?? false,
                    freeMemory: body["free_memory"]?.isTruthy ?? false)
                return Self.empty()
            }
        }
        both("/history", .get) { request, _ in
            let parameters = request.uri.queryParameters
            guard let query = HistoryPageQuery(maxItems: parameters.get("max_items"), offset: parameters.get("offset")) else {
                return Self.internalError()
            }
            return Self.json(await node.historyJSON(maxItems: query.maxItems, offset: query.offset))
        }
        both("/history/{prompt_id}", .get) { _, context in
            Self.json(await node.historyJSON(promptID: context.parameters.get("prompt_id") ?? ""))
        }
        both("/history", .post) { request, _ in
            switch await Self.readJSON(request, limit: limit) {
            case .failure(let response): return response
            case .success(let body):
                await node.editHistory(
                    clear: body["clear"]?.isTruthy ?? false,
                    delete: body["delete"]?.arrayValue?.compactMap(\.stringValue) ?? [])
                return Self.empty()
            }
        }
        for prefix in ["/api/jobs", "/api/api/jobs"] {
            router.get(RouterPath(prefix)) { request, _ in
                let result = await node.jobsJSON(query: request.uri.queryParameters)
                return Self.json(result.body, status: .init(code: result.status))
            }
            router.get(RouterPath(prefix + "/{job_id}")) { _, context in
                guard let job = await node.jobJSON(id: context.parameters.get("job_id") ?? "") else {
                    return Self.json(["error": "Job not found"], status: .notFound)
                }
                return Self.json(job)
            }
        }
        both("/upload/image", .post) { request, _ in await Self.upload(request, node: node, mask: false) }
        both("/upload/mask", .post) { request, _ in await Self.upload(request, node: node, mask: true) }
        both("/view", .get) { request, _ in await Self.view(request, node: node) }
        both("/view_metadata/{folder}", .get) { _, _ in Self.empty(.notFound) }
        both("/object_info", .get) { _, _ in Self.json(await node.objectInfo(className: nil)) }
        both("/object_info/{node_class}", .get) { _, context in
            Self.json(await node.objectInfo(className: context.parameters.get("node_class") ?? ""))
        }
        both("/models", .get) { _, _ in Self.json(.array(SimulatedNode.modelFolders.map(JSONValue.string))) }
        both("/models/{folder}", .get) { _, context in
            guard let files = await node.models(folder: context.parameters.get("folder") ?? "") else { return Self.empty(.notFound) }
            return Self.json(.array(files.map(JSONValue.string)))
        }
        both("/embeddings", .get) { _, _ in Self.json([]) }
        both("/extensions", .get) { _, _ in Self.json(.array(node.frontendExtensions().map(JSONValue.string))) }
        both("/system_stats", .get) { _, _ in Self.json(await node.systemStats()) }
        both("/features", .get) { _, _ in Self.json(.object(SimulatedNode.features(node.profile))) }
        Self.addUserRoutes(to: router, node: node)
        both("/experiment/models", .get) { _, _ in Self.json(node.experimentModelFolders()) }
        both("/experiment/models/{folder}", .get) { _, context in
            guard let files = await node.experimentModels(folder: context.parameters.get("folder") ?? "") else { return Self.empty(.notFound) }
            return Self.json(files)
        }
        both("/i18n", .get) { _, _ in Self.json([:]) }
        both("/workflow_templates", .get) { _, _ in Self.json([:]) }
        both("/global_subgraphs", .get) { _, _ in Self.json([:]) }
        both("/node_replacements", .get) { _, _ in Self.json([:]) }
        // The workflow-templates package's index, empty: the frontend reads it at start and offers no templates.
        router.get("/templates/{index}") { _, context in
            let name = context.parameters.get("index") ?? ""
            return name.hasPrefix("index") && name.hasSuffix(".json") ? Self.json([]) : Self.empty(.notFound)
        }
        // The server log the frontend attaches to error reports and shows in its Logs panel: a simulated node has none.
        router.get("/internal/logs") { _, _ in Self.json("") }
        router.get("/internal/logs/raw") { _, _ in Self.json(["entries": [], "size": ["cols": 80, "rows": 24]]) }
        router.patch("/internal/logs/subscribe") { _, _ in Self.empty() }
        router.get("/internal/folder_paths") { _, _ in Self.json(node.folderPaths()) }
        for kind in ["input", "output", "temp"] {
            router.get(RouterPath("/internal/files/\(kind)")) { _, _ in
                Self.json(.array(await node.internalFiles(kind).map(JSONValue.string)))
            }
        }
        router.post("/sim/faults") { request, _ in
            guard node.profile.faultControl else { return Self.empty(.notFound) }
            switch await Self.readJSON(request, limit: limit) {
            case .failure(let response): return response
            case .success(let body):
                guard let fault = Fault(json: body) else { return Self.json(["error": "unknown fault"], status: .badRequest) }
                await node.inject(fault)
                return Self.empty()
            }
        }
        if let webRoot = node.profile.webRoot {
            router.middlewares.add(FileMiddleware(webRoot, searchForIndexHtml: true))
        }
        return router
    }
}

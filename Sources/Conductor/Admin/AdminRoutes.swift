import ComfyWire
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// The operator's surface: the admin API under `/conductor/api/`, the dashboard at `/conductor/`, and `/metrics`.
///
/// All of it is admin scope: with API keys on, only an admin key reaches these routes, however the path is spelled
/// (`AdminOnlyMiddleware` runs on the matched route). `/metrics` too: its labels name nodes and checkpoints, so a
/// scraper is given an admin key (Prometheus: `authorization: {credentials: …}`).
public struct AdminRoutes: Sendable {
    let coordinator: Coordinator
    /// Seconds between two looks at the fleet for the dashboard's event stream.
    let streamInterval: Double
    /// API keys are on: the routes need an admin key.
    let keysRequired: Bool

    public init(coordinator: Coordinator, streamInterval: Double = 0.5, keysRequired: Bool = false) {
        self.coordinator = coordinator
        self.streamInterval = streamInterval
        self.keysRequired = keysRequired
    }

    static func json(_ value: JSONValue, status: Int = 200) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: value.serialized(.compact))))
    }

    public func add<Context: RequestContext>(to parent: Router<Context>) {
        let coordinator = self.coordinator
        let router = parent.group("/conductor").add(middleware: AdminOnlyMiddleware<Context>(keysRequired: keysRequired))
        router.get { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        router.get("/api/nodes") { _, _ in Self.json(["nodes": await coordinator.nodesJSON()]) }
        router.get("/api/run-times") { _, _ in Self.json(["shapes": await coordinator.runTimesJSON()]) }
        router.get("/api/nodes/{name}") { _, context in
            let name = context.parameters.get("name") ?? ""
            let node = await coordinator.nodesJSON().arrayValue?.first { $0["name"]?.stringValue == name }
            guard let node else { throw AdminRefusal.notFound("no node \(name)") }
            return Self.json(node)
        }
        router.post("/api/nodes") { request, context in
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let json = try? JSONValue(parsing: body.readableBytesView) else {
                return Self.json(["error": "the body must be a node as in cluster.json: {\"name\": …, \"url\": …}"], status: 400)
            }
            return Self.json(try await coordinator.addNode(json), status: 201)
        }
        router.delete("/api/nodes/{name}") { _, context in
            Self.json(try await coordinator.removeNode(context.parameters.get("name") ?? ""))
        }
        for (action, draining) in [("drain", true), ("undrain", false)] {
            router.post(RouterPath("/api/nodes/{name}/\(action)")) { _, context in
                let name = context.parameters.get("name") ?? ""
                guard let node = await coordinator.setDraining(name, draining) else { throw AdminRefusal.notFound("no node \(name)") }
                return Self.json(node)
            }
        }
        router.get("/api/jobs") { request, _ in
            let limit = request.uri.queryParameters.get("limit").flatMap { Int($0) }.map { min(max($0, 0), 10_000) } ?? 50
            return Self.json(try await coordinator.jobsJSON(historyLimit: limit))
        }
        router.get("/api/jobs/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let job = try await coordinator.jobJSON(id: id) else { throw AdminRefusal.notFound("no job \(id)") }
            return Self.json(job)
        }
        router.post("/api/jobs/{id}/requeue") { _, context in
            Self.json(try await coordinator.requeueJob(context.parameters.get("id") ?? ""))
        }
        router.post("/api/jobs/{id}/cancel") { _, context in
            Self.json(try await coordinator.cancelJob(context.parameters.get("id") ?? ""))
        }
        router.get("/api/dashboard") { _, _ in Self.json(try await coordinator.dashboardJSON()) }
        let interval = streamInterval
        router.get("/api/events") { _, _ in Self.events(coordinator, interval: interval) }
        parent.group("/metrics").add(middleware: AdminOnlyMiddleware<Context>(keysRequired: keysRequired)).get { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: await coordinator.metricsExposition())))
        }
    }

    /// The dashboard's live feed (Server-Sent Events): the dashboard's JSON whenever it changed, looked at every
    /// `interval` seconds, and a comment every 15 s so proxies keep the stream open. Ends on shutdown.
    static func events(_ coordinator: Coordinator, interval: Double) -> Response {
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            var last = ""
            var quiet = 0.0
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let snapshot = (try? await coordinator.dashboardJSON())?.jsonString(.compact)
                if let snapshot, snapshot != last {
                    try await writer.write(ByteBuffer(string: "data: \(snapshot)\n\n"))
                    last = snapshot
                    quiet = 0
                } else if quiet >= 15 {
                    try await writer.write(ByteBuffer(string: ": still here\n\n"))
                    quiet = 0
                }
                try? await Task.sleep(for: .seconds(interval))
                quiet += interval
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}

extension AdminRefusal: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch self {
        case .invalid: .badRequest
        case .notFound: .notFound
        case .conflict: .conflict
        case .failed: .internalServerError
        case .submit(let refusal): refusal.status
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        switch self {
        case .invalid(let message), .notFound(let message), .conflict(let message), .failed(let message):
            AdminRoutes.json(["error": .string(message)], status: Int(status.code))
        case .submit(let refusal): try refusal.response(from: request, context: context)
        }
    }
}

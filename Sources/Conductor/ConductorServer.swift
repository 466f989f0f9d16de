import AsyncHTTPClient
import ComfyWire
import ConductorCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import ServiceLifecycle

/// Conductor as a service: the store, the coordinator, one link per node, and the HTTP/WS endpoint.
public struct ConductorServer: Service {
    public let config: ClusterConfig
    let logger: Logger
    let onListening: @Sendable (Int, Coordinator) async -> Void

    /// - Parameter onListening: called with the bound port (useful with port 0) and the coordinator.
    public init(config: ClusterConfig, logger: Logger, onListening: @escaping @Sendable (Int, Coordinator) async -> Void = { _, _ in }) {
        self.config = config
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        let store = try JobStore(path: (config.dataDirectory as NSString).appendingPathComponent("conductor.sqlite"))
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        httpConfiguration.timeout.connect = .seconds(2)
        // Downloads streamed from a node through /view each hold a connection for their whole length: with the default
        // 8 per node, the 9th concurrent one waited for a free connection and failed after the connect timeout.
        httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
        let files = try UploadStore(store: store, directory: URL(fileURLWithPath: config.dataDirectory).appendingPathComponent("files"))
        let coordinator = Coordinator(
            config: config, store: store, files: files, http: http,
            instanceID: try await store.instanceID(), logger: logger)
        try await coordinator.restore()
        await coordinator.enforceStoreRetention()
        let metrics = coordinator.metrics
        let (events, sink) = NodeEventSink.makeStream(limit: Self.nodeEventLimit) { metrics.recordDroppedNodeEvent(node: $0.node) }
        let links = FleetLinks(
            initial: await coordinator.nodeLinks, changes: coordinator.linkChanges,
            pollInterval: config.pollIntervalSeconds, objectInfoInterval: config.objectInfoRefreshSeconds,
            events: sink, logger: logger)
        let router = ConductorRoutes(
            coordinator: coordinator, maxUploadBytes: config.files.maxUploadBytes,
            maxJsonBytes: config.limits.maxJsonBytes, auth: config.auth
        ).buildRouter()
        let onListening = self.onListening
        var capped = config.limits
        capped.maxConnections = Self.connectionCap(capped.maxConnections, logger: logger)
        let limits = capped
        let webSocketResponder = router.buildResponder()
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                GuardedChildChannel(
                    base: HTTP1WebSocketUpgradeChannel(
                        responder: responder, webSocketResponder: webSocketResponder,
                        configuration: .init(
                            http1: .init(idleTimeout: .nanoseconds(Int64(limits.idleTimeoutSeconds * 1e9))),
                            // Frames as large as ComfyUI sends (one frame per message: a preview is tens of KB), not
                            // 16 KB fragments.
                            // Text frames that are not UTF-8 are closed with 1007, as RFC 6455 says.
                            ws: .init(maxFrameSize: 1 << 20, validateUTF8: true))),
                    headerTimeout: .nanoseconds(Int64(limits.headerTimeoutSeconds * 1e9)), metrics: metrics)
            },
            configuration: .init(
                address: .hostname(config.listen.host, port: config.listen.port), serverName: nil,
                availableConnectionsDelegate: ConnectionCount(maxConnections: limits.maxConnections, metrics: metrics)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0, coordinator) },
            logger: logger)
        let coordinatorService = CoordinatorService(coordinator: coordinator, events: events)
        let group = ServiceGroup(
            configuration: .init(
                services: [coordinatorService, links, app],
                gracefulShutdownSignals: [], logger: logger))
        do {
            try await withTaskCancellationHandler {
                try await group.run()
            } onCancel: {
                sink.finish()
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}

extension ConductorServer {
    /// Descriptors kept for what is not a client connection: node links and their HTTP pool, SQLite, uploads.
    static let reservedDescriptors = 256
    /// Most node events waiting for the coordinator (see `NodeEventSink`): minutes of a busy fleet's messages.
    static let nodeEventLimit = 100_000

    /// The connection cap the process can keep: its open-files limit is raised to the hard limit (as servers do;
    /// the soft limit is often 1,024), and the cap lowered, with a warning, when even that leaves less room than
    /// `limits.maxConnections` asks for. Without it, idle connections would use up the descriptors before the cap.
    static func connectionCap(_ asked: Int, logger: Logger) -> Int {
        #if canImport(Glibc)
            let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
            let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return asked }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        let room = Int(clamping: limit.rlim_cur) - reservedDescriptors
        guard room < asked else { return asked }
        let cap = max(16, room)
        logger.warning(
            "limits.maxConnections lowered to what the open-files limit allows",
            metadata: ["asked": "\(asked)", "cap": "\(cap)", "nofile": "\(limit.rlim_cur)"])
        return cap
    }
}

/// The coordinator's own loops: folding node events and dispatching.
struct CoordinatorService: Service {
    let coordinator: Coordinator
    let events: AsyncStream<NodeEvent>

    func run() async throws {
        // On shutdown: close client sockets (the HTTP server then drains), stop folding events and dispatching.
        // The queue stays in SQLite for the next start.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await coordinator.runEvents(events) }
                group.addTask { await coordinator.runDispatcher() }
                group.addTask { await coordinator.runWatchdog() }
                group.addTask { await coordinator.runStatusBroadcasts() }
                await group.next()
                group.cancelAll()
            }
        }
        await coordinator.closeClients()
    }
}

extension ConductorServer {
    /// Runs Conductor on a free loopback port for the duration of `body` (tests, demo, benchmarks).
    public static func withRunning<T: Sendable>(
        config: ClusterConfig, logger: Logger, _ body: @Sendable (Coordinator, Int) async throws -> T
    ) async throws -> T {
        var config = config
        config.listen.port = 0
        let (ready, readySink) = AsyncStream<(Int, Coordinator)>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let server = ConductorServer(config: config, logger: logger) { port, coordinator in readySink.yield((port, coordinator)) }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await server.run()
                return nil
            }
            var iterator = ready.makeAsyncIterator()
            guard let (port, coordinator) = await iterator.next() else { throw CancellationError() }
            do {
                let result = try await body(coordinator, port)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}

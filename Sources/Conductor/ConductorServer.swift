import AsyncHTTPClient
import ComfyWire
import ConductorCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import ServiceLifecycle
import Synchronization

/// Conductor as a service: the store, the coordinator, one link per node, and the HTTP/WS endpoint.
///
/// With SQLite this process runs the fleet. With PostgreSQL several processes may share the store: the one elected
/// (`Leadership`) runs the fleet, the others forward to it (`FollowerRoutes`), and one of them takes over when it
/// dies.
public struct ConductorServer: Service {
    public let config: ClusterConfig
    let logger: Logger
    let onListening: @Sendable (Int, Coordinator?) async -> Void

    /// - Parameter onListening: called with the bound port (useful with port 0) and the coordinator once the server
    ///   listens; again with the coordinator when a follower is elected (a follower is first called with nil).
    public init(config: ClusterConfig, logger: Logger, onListening: @escaping @Sendable (Int, Coordinator?) async -> Void = { _, _ in }) {
        self.config = config
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        let store = try await Self.openStore(config, logger: logger)
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        httpConfiguration.timeout.connect = .seconds(2)
        // Downloads streamed from a node through /view each hold a connection for their whole length: with the default
        // 8 per node, the 9th concurrent one waited for a free connection and failed after the connect timeout.
        httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
        let metrics = ConductorMetrics()
        let front = SwitchingResponder()
        let listening = ListeningGate(onListening)
        let fleet: any Service
        var leadership: Leadership?
        if let shared = store as? PostgresStore {
            let elected = Leadership(settings: shared.settings, url: advertiseURL, logger: logger)
            leadership = elected
            let leadership = elected
            front.use(FollowerRoutes(leadership: leadership, http: http, auth: config.auth, logger: logger).buildRouter().buildResponder())
            fleet = ElectedFleet(leadership: leadership, listening: listening) {
                // Elected: nothing is passed on any more (this is the leader now); until the fleet is up, requests are
                // answered 503 and sockets refused, so followers retry.
                front.clear()
                return try await startFleet(store: store, http: http, metrics: metrics, front: front)
            }
        } else {
            let started = try await startFleet(store: store, http: http, metrics: metrics, front: front)
            await listening.led(by: started.coordinator)
            fleet = started.services
        }
        var capped = config.limits
        capped.maxConnections = Self.connectionCap(capped.maxConnections, logger: logger)
        let limits = capped
        let app = Application(
            responder: front,
            server: HTTPServerBuilder { responder in
                GuardedChildChannel(
                    base: HTTP1WebSocketUpgradeChannel(
                        responder: responder, webSocketResponder: front,
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
            onServerRunning: { [leadership, config] channel in
                let port = channel.localAddress?.port ?? 0
                // On port 0 the address others reach this one at is known only now.
                if config.listen.port == 0, config.listen.advertiseURL == nil {
                    leadership?.advertise("http://\(config.listen.host):\(port)")
                }
                await listening.listening(on: port)
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app, fleet], gracefulShutdownSignals: [], logger: logger))
        do {
            try await group.run()
        } catch {
            try? await http.shutdown()
            (store as? PostgresStore)?.close()
            throw error
        }
        try await http.shutdown()
        (store as? PostgresStore)?.close()
    }

    /// Where other coordinators reach this one: the environment's `CONDUCTOR_ADVERTISE_URL`, `listen.advertiseURL`,
    /// or the listen address (the host name for a wildcard host).
    var advertiseURL: String {
        if let url = ProcessInfo.processInfo.environment["CONDUCTOR_ADVERTISE_URL"], !url.isEmpty { return url }
        if let url = config.listen.advertiseURL { return url }
        let host = ["0.0.0.0", "::", ""].contains(config.listen.host) ? ProcessInfo.processInfo.hostName : config.listen.host
        return "http://\(host.contains(":") ? "[\(host)]" : host):\(config.listen.port)"
    }

    /// The coordinator and what runs it (its loops and the node links), serving from now on through `front`.
    func startFleet(
        store: any JobStore, http: HTTPClient, metrics: ConductorMetrics, front: SwitchingResponder
    ) async throws
        -> (coordinator: Coordinator, services: ServiceGroup)
    {
        let files = try await UploadStore(store: store, directory: URL(fileURLWithPath: config.dataDirectory).appendingPathComponent("files"))
        let coordinator = Coordinator(
            config: config, store: store, files: files, http: http, instanceID: try await store.instanceID(), metrics: metrics,
            logger: logger)
        try await coordinator.restore()
        await coordinator.keepRecentEnds()
        await coordinator.enforceStoreRetention()
        let (events, sink) = NodeEventSink.makeStream(limit: Self.nodeEventLimit) { metrics.recordDroppedNodeEvent(node: $0.node) }
        let links = FleetLinks(
            initial: await coordinator.nodeLinks, changes: coordinator.linkChanges,
            pollInterval: config.pollIntervalSeconds, objectInfoInterval: config.objectInfoRefreshSeconds,
            events: sink, logger: logger)
        let router = ConductorRoutes(
            coordinator: coordinator, maxUploadBytes: config.files.maxUploadBytes,
            maxJsonBytes: config.limits.maxJsonBytes, auth: config.auth
        ).buildRouter()
        front.use(router.buildResponder())
        let services = ServiceGroup(
            configuration: .init(
                services: [CoordinatorService(coordinator: coordinator, events: events, sink: sink), links], gracefulShutdownSignals: [],
                logger: logger))
        return (coordinator, services)
    }
}

/// Serves with whichever router is current: a follower's until this process is elected, then the fleet's.
final class SwitchingResponder: HTTPResponder, Sendable {
    typealias Context = ConductorRequestContext
    private let current = Mutex<RouterResponder<ConductorRequestContext>?>(nil)

    func use(_ responder: RouterResponder<ConductorRequestContext>) { current.withLock { $0 = responder } }
    func clear() { current.withLock { $0 = nil } }

    func respond(to request: Request, context: ConductorRequestContext) async throws -> Response {
        guard let responder = current.withLock({ $0 }) else { return FollowerRoutes.noLeader() }
        return try await responder.respond(to: request, context: context)
    }
}

/// Calls `onListening` once the port is known, with the coordinator once there is one.
actor ListeningGate {
    let onListening: @Sendable (Int, Coordinator?) async -> Void
    var port: Int?
    var coordinator: Coordinator?

    init(_ onListening: @escaping @Sendable (Int, Coordinator?) async -> Void) { self.onListening = onListening }

    func listening(on port: Int) async {
        self.port = port
        await onListening(port, coordinator)
    }

    func led(by coordinator: Coordinator) async {
        self.coordinator = coordinator
        if let port { await onListening(port, coordinator) }
    }
}

/// The fleet of a coordinator sharing PostgreSQL: campaigns, and runs the fleet once elected. Losing the lock ends
/// it with `LeadershipLost`, and the process with it.
struct ElectedFleet: Service {
    let leadership: Leadership
    let listening: ListeningGate
    let start: @Sendable () async throws -> (coordinator: Coordinator, services: ServiceGroup)

    func run() async throws {
        // Campaign once the server listens (its address is known then).
        while await listening.port == nil { try await Task.sleep(for: .milliseconds(10)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await leadership.run() }
            group.addTask {
                for await _ in leadership.elected {
                    let fleet = try await start()
                    await listening.led(by: fleet.coordinator)
                    try await fleet.services.run()
                    return
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

extension ConductorServer {
    /// The store cluster.json names: SQLite under the data directory, or PostgreSQL.
    static func openStore(_ config: ClusterConfig, logger: Logger) async throws -> any JobStore {
        switch config.store {
        case .sqlite:
            return try SQLiteStore(path: (config.dataDirectory as NSString).appendingPathComponent("conductor.sqlite"))
        case .postgres(let postgres):
            let settings = try PostgresSettings(postgres)
            do {
                return try await PostgresStore(settings, logger: logger)
            } catch {
                throw StoreOpenError(description: "cannot open the PostgreSQL store at \(settings.redacted): \(String(reflecting: error))")
            }
        }
    }

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
    let sink: NodeEventSink

    func run() async throws {
        // On shutdown: close client sockets (the HTTP server then drains), stop folding events and dispatching.
        // The queue stays in the store for the next start.
        await withTaskCancellationHandler {
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
        } onCancel: {
            sink.finish()
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
        let server = ConductorServer(config: config, logger: logger) { port, coordinator in
            if let coordinator { readySink.yield((port, coordinator)) }
        }
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

struct StoreOpenError: Error, CustomStringConvertible {
    var description: String
}

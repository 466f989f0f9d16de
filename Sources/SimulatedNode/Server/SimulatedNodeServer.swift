import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import ServiceLifecycle

/// Runs a simulated node: its worker and its HTTP/WebSocket listener, which fault injection can
/// take down and bring back on the same port.
public struct SimulatedNodeServer: Service {
    public let node: SimulatedNode
    public let host: String
    public let port: Int
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void

    /// - Parameters:
    ///   - port: 0 picks a free port; `onListening` reports the one bound (again after each restart).
    public init(
        node: SimulatedNode, host: String = "127.0.0.1", port: Int = 0, logger: Logger = Logger(label: "sim-node"),
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.node = node
        self.host = host
        self.port = port
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let (commands, control) = AsyncStream<ServerCommand>.makeStream()
        await node.setServerControl(control)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await node.runWorker() }
            group.addTask { try await runListeners(commands: commands) }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Listens until cancelled; a `goDown` closes the listener for a while and then listens again.
    func runListeners(commands: AsyncStream<ServerCommand>) async throws {
        var boundPort = port
        var iterator = commands.makeAsyncIterator()
        while !Task.isCancelled {
            let (ports, portSink) = AsyncStream<Int>.makeStream()
            let router = SimulatedNodeRoutes(node: node).buildRouter()
            let app = Application(
                router: router,
                // aiohttp sends each message as one frame, however large (a real preview is tens of KB).
                server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: .init(maxFrameSize: 1 << 22))),
                configuration: .init(address: .hostname(host, port: boundPort), serverName: nil),
                onServerRunning: { channel in
                    portSink.yield(channel.localAddress?.port ?? 0)
                    portSink.finish()
                },
                logger: logger)
            let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
            let down: Double? = try await withThrowingTaskGroup(of: Double?.self) { tasks in
                tasks.addTask {
                    try await group.run()
                    return nil
                }
                for await bound in ports {
                    boundPort = bound
                    await node.setDown(false)
                    await onListening(bound)
                }
                let command = await iterator.next()
                // Down (a fault, or the end): no socket may stay open, or the graceful shutdown waits for it for ever.
                await node.setDown(true)
                await node.dropAllSockets()
                await group.triggerGracefulShutdown()
                _ = try await tasks.next()
                tasks.cancelAll()
                if case .goDown(let seconds)? = command { return seconds }
                return nil
            }
            guard let down else { return }
            logger.info("simulated node down", metadata: ["seconds": "\(down)"])
            try await Task.sleep(for: .seconds(down))
        }
    }
}

extension SimulatedNode {
    func setServerControl(_ control: AsyncStream<ServerCommand>.Continuation) {
        serverControl = control
    }

    /// Runs a simulated node on a free loopback port for the duration of `body`, then stops it.
    public static func withRunning<T: Sendable>(
        profile: NodeProfile, directory: URL, logger: Logger = Logger(label: "sim-node"),
        _ body: @Sendable (SimulatedNode, Int) async throws -> T
    ) async throws -> T {
        let node = try SimulatedNode(profile: profile, directory: directory, logger: logger)
        let (ports, portSink) = AsyncStream<Int>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let server = SimulatedNodeServer(node: node, logger: logger) { portSink.yield($0) }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await server.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            let result: T
            do {
                result = try await body(node, port)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
            return result
        }
    }
}

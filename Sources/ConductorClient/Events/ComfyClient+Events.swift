import ComfyWire
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization

extension ComfyClient {
    /// Opens `/ws?clientId=…`, waits for the server's first `status` frame (so nothing sent to this
    /// client id afterwards is missed), runs `body`, and closes the socket.
    public func withEvents<T>(clientID: String?, _ body: (EventSession) async throws -> T) async throws -> T {
        let (events, sink) = AsyncStream<ServerEvent>.makeStream()
        let (stopped, stop) = AsyncStream<Void>.makeStream()
        let failure = ConnectionFailure()
        let url = server.webSocketURL(clientID: clientID)
        let logger = logger
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 24)
        configuration.closeTimeout = .seconds(1)
        let finalConfiguration = configuration
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { sink.finish() }
                do {
                    try await WebSocketClient.connect(url: url, configuration: finalConfiguration, logger: logger) { inbound, _, _ in
                        try await withThrowingTaskGroup(of: Void.self) { inner in
                            inner.addTask {
                                for try await message in inbound.messages(maxSize: 1 << 26) {
                                    switch message {
                                    case .text(let text): sink.yield(ServerEvent(text: text))
                                    case .binary(let buffer): sink.yield(ServerEvent(bytes: Array(buffer.readableBytesView)))
                                    }
                                }
                            }
                            inner.addTask { for await _ in stopped {} }
                            _ = try await inner.next()
                            inner.cancelAll()
                        }
                    }
                } catch {
                    logger.debug("websocket ended", metadata: ["error": "\(error)"])
                    failure.reason.withLock { $0 = ComfyClient.reason(error) }
                }
            }
            var iterator = events.makeAsyncIterator()
            var sid = clientID
            let first = await iterator.next()
            if case .message(.status(_, let assigned))? = first {
                sid = assigned ?? sid
            } else {
                stop.finish()
                group.cancelAll()
                let reason = failure.reason.withLock { $0 } ?? "the WebSocket closed before the first status message"
                throw ClientError.unreachable(server: server.description, reason: "WebSocket: \(reason)")
            }
            let session = EventSession(sid: sid ?? "", first: first ?? .unreadable(.null), iterator: iterator)
            do {
                let result = try await body(session)
                stop.finish()
                try await group.waitForAll()
                return result
            } catch {
                stop.finish()
                group.cancelAll()
                throw error
            }
        }
    }
}

/// Why the socket task ended, read by the task that waits for the first frame.
private final class ConnectionFailure: Sendable {
    let reason = Mutex<String?>(nil)
}

import ComfyWire
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization

/// One frame a test WebSocket client received.
public enum ReceivedFrame: Sendable {
    case text(JSONValue)
    case binary([UInt8])

    /// A compact token for sequence comparisons: the message type, `executing:null` for the end
    /// marker, `binary:<event>` for binary frames.
    public var token: String {
        switch self {
        case .text(let message):
            let type = message["type"]?.stringValue ?? "?"
            if type == "executing", message["data"]?["node"] == .null { return "executing:null" }
            return type
        case .binary(let bytes):
            guard bytes.count >= 4 else { return "binary:?" }
            return "binary:\(bytes[3])"
        }
    }

    public var message: JSONValue? { if case .text(let m) = self { m } else { nil } }
}

/// A WebSocket client that records every frame it receives.
public final class TestWebSocket: Sendable {
    public let clientID: String
    private let frames = Mutex<[ReceivedFrame]>([])
    private let stop: AsyncStream<Void>.Continuation

    init(clientID: String, stop: AsyncStream<Void>.Continuation) {
        self.clientID = clientID
        self.stop = stop
    }

    public var received: [ReceivedFrame] { frames.withLock { $0 } }
    public var messages: [JSONValue] { received.compactMap(\.message) }
    public var tokens: [String] { received.map(\.token) }

    public func append(_ frame: ReceivedFrame) { frames.withLock { $0.append(frame) } }
    public func clear() { frames.withLock { $0.removeAll() } }
    public func close() { stop.finish() }

    /// Waits until the received frames satisfy `condition`.
    public func waitFor(timeout: Double = 10, _ what: String = "frames", _ condition: @escaping ([ReceivedFrame]) -> Bool) async throws {
        try await eventually(timeout: timeout, "\(clientID): \(what)") { condition(self.received) }
    }

    /// Waits for `executing` with node null for this prompt: ComfyUI's "prompt finished" marker.
    public func waitForEnd(of promptID: String, timeout: Double = 10) async throws {
        try await waitFor(timeout: timeout, "end of \(promptID)") { frames in
            frames.contains { $0.token == "executing:null" && $0.message?["data"]?["prompt_id"]?.stringValue == promptID }
        }
    }
}

/// Opens a WebSocket to `/ws?clientId=…` (optionally sending feature flags first), waits for the
/// initial status frame, runs `body`, then closes the socket.
public func withWebSocket<T: Sendable>(
    port: Int, clientID: String?, featureFlags: JSONObject? = nil, path: String = "/ws", query extra: String? = nil,
    _ body: @Sendable (TestWebSocket) async throws -> T
) async throws -> T {
    let (stopped, stop) = AsyncStream<Void>.makeStream()
    let socket = TestWebSocket(clientID: clientID ?? "(none)", stop: stop)
    let logger = {
        var logger = Logger(label: "test.ws")
        logger.logLevel = .warning
        return logger
    }()
    let parts = (clientID.map { ["clientId=\($0)"] } ?? []) + (extra.map { [$0] } ?? [])
    let query = parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)\(path)\(query)", configuration: .init(maxFrameSize: 1 << 24),
                logger: logger
            ) { inbound, outbound, _ in
                if let featureFlags {
                    let message: JSONValue = ["type": "feature_flags", "data": .object(featureFlags)]
                    try await outbound.write(.text(message.jsonString(.compact)))
                }
                try await withThrowingTaskGroup(of: Void.self) { inner in
                    inner.addTask {
                        for try await message in inbound.messages(maxSize: 1 << 24) {
                            switch message {
                            case .text(let text): socket.append(.text((try? JSONValue(parsing: text)) ?? .string(text)))
                            case .binary(let buffer): socket.append(.binary(Array(buffer.readableBytesView)))
                            }
                        }
                    }
                    inner.addTask { for await _ in stopped {} }
                    _ = try await inner.next()
                    inner.cancelAll()
                }
            }
            return nil
        }
        try await socket.waitFor(timeout: 10, "initial status") { frames in
            frames.count >= (featureFlags == nil ? 1 : 2)
        }
        let result: T
        do {
            result = try await body(socket)
        } catch {
            socket.close()
            group.cancelAll()
            throw error
        }
        socket.close()
        while let next = try await group.next() { _ = next }
        return result
    }
}

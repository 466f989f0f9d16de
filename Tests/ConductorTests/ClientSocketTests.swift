import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import HummingbirdWSClient
import Logging
import SimulatedNode
import Testing

/// Client WebSockets under load: messages as large as a real node sends, and a client that stops reading.
@Suite("Client sockets")
struct ClientSocketTests {
    static let checkpoint = "v1-5-pruned-emaonly.safetensors"

    static func node(_ name: String, previewBytes: Int) -> TestNodeSpec {
        var profile = NodeProfile.test(name, checkpoints: [checkpoint])
        profile.previewBytes = previewBytes
        return TestNodeSpec(profile)
    }

    @Test("a 50 KB preview, sent by the node as one frame, reaches the client whole")
    func largePreview() async throws {
        try await withFleet([Self.node("a", previewBytes: 50_000)]) { fleet in
            try await withWebSocket(port: fleet.conductor.port, clientID: "alice", featureFlags: ["supports_preview_metadata": true]) { alice in
                let id = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.checkpoint, steps: 3), "client_id": "alice"])
                try await alice.waitForEnd(of: id)
                let previews = alice.received.compactMap { frame -> [UInt8]? in
                    guard case .binary(let bytes) = frame, case .previewImageWithMetadata(let metadata, let image)? = try? BinaryFrame(bytes: bytes),
                        metadata["prompt_id"]?.stringValue == id
                    else { return nil }
                    return image
                }
                #expect(previews.count == 3)
                #expect(previews.allSatisfy { $0.count == 50_000 && $0.prefix(2) == [0xFF, 0xD8] && $0.suffix(2) == [0xFF, 0xD9] })
                let end = try #require(alice.tokens.firstIndex(of: "executing:null"))
                #expect(alice.tokens.lastIndex(of: "binary:4")! < end, "every preview before the end of the job")
            }
        }
    }

    @Test("a client that stops reading is cut off past the buffer cap; the others hear every message and nothing is lost")
    func stalledClientIsCutOff() async throws {
        try await withFleet([Self.node("a", previewBytes: 60_000)], configure: { $0.limits.clientBufferBytes = 1 << 20 }) { fleet in
            let port = fleet.conductor.port
            try await withWebSocket(port: port, clientID: "reader", featureFlags: ["supports_preview_metadata": true]) { reader in
                try await withStalledSocket(port: port, clientID: "stalled") { stalled in
                    // The stalled client's jobs send ~24 MB of previews: more than the socket buffers and the cap hold.
                    var theirs: [String] = []
                    for seed in 0..<8 {
                        theirs.append(
                            try await fleet.conductor.submit([
                                "prompt": TestFleet.prompt(checkpoint: Self.checkpoint, seed: seed, steps: 50), "client_id": "stalled"
                            ]))
                    }
                    let mine = try await fleet.conductor.submit([
                        "prompt": TestFleet.prompt(checkpoint: Self.checkpoint, seed: 99, steps: 5), "client_id": "reader"
                    ])
                    try await reader.waitForEnd(of: mine, timeout: 30)
                    for id in theirs { _ = try await fleet.conductor.waitForHistory(id, timeout: 30) }
                    let progress = reader.messages.filter { $0["type"] == "progress" && $0["data"]?["prompt_id"]?.stringValue == mine }
                    #expect(progress.compactMap { $0["data"]?["value"]?.intValue } == [1, 2, 3, 4, 5])
                    #expect(reader.tokens.filter { $0 == "binary:4" }.count == 5)
                    let metrics = String(decoding: try await fleet.conductor.get("/metrics").body, as: UTF8.self)
                    #expect(metrics.contains("conductor_websocket_cut_off_total 1"))
                    // Reading again, the stalled client gets what was already on its way, then the socket ends.
                    let (ended, finished) = try await stalled.resumeReading(timeout: 30)
                    #expect(ended)
                    #expect(!finished.contains(theirs.last!), "it was cut off long before its last job's end")
                }
            }
        }
    }
}

/// What a stalled client read once it read again: whether the server had closed the socket, and the prompts whose end
/// (`executing` null) it heard.
typealias StalledOutcome = (ended: Bool, finished: Set<String>)

/// A WebSocket client that does not read until told to.
final class StalledSocket: Sendable {
    let resume: AsyncStream<Void>.Continuation
    let result: AsyncStream<StalledOutcome>

    init(resume: AsyncStream<Void>.Continuation, result: AsyncStream<StalledOutcome>) {
        self.resume = resume
        self.result = result
    }

    /// Starts reading until the server closes the socket (`ended` false if it has not after `timeout`).
    func resumeReading(timeout: Double) async throws -> StalledOutcome {
        resume.yield()
        resume.finish()
        return try await withThrowingTaskGroup(of: StalledOutcome.self) { group in
            group.addTask {
                for await outcome in self.result { return outcome }
                return (false, [])
            }
            group.addTask {
                try await Task.sleep(for: .seconds(timeout))
                return (false, [])
            }
            let first = try await group.next() ?? (false, [])
            group.cancelAll()
            return first
        }
    }
}

func withStalledSocket<T: Sendable>(port: Int, clientID: String, _ body: @Sendable (StalledSocket) async throws -> T) async throws -> T {
    let (resumed, resume) = AsyncStream<Void>.makeStream()
    let (result, report) = AsyncStream<StalledOutcome>.makeStream()
    let (opened, open) = AsyncStream<Void>.makeStream()
    let socket = StalledSocket(resume: resume, result: result)
    var logger = Logger(label: "test.stalled")
    logger.logLevel = .critical
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { [logger] in
            _ = try? await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)/ws?clientId=\(clientID)", configuration: .init(maxFrameSize: 1 << 24),
                logger: logger
            ) { inbound, outbound, _ in
                let flags: JSONValue = ["type": "feature_flags", "data": ["supports_preview_metadata": true]]
                try await outbound.write(.text(flags.jsonString(.compact)))
                open.finish()
                for await _ in resumed {}
                var finished = Set<String>()
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    guard case .text(let text) = message, let json = try? JSONValue(parsing: text), json["type"] == "executing",
                        json["data"]?["node"] == .null, let id = json["data"]?["prompt_id"]?.stringValue
                    else { continue }
                    finished.insert(id)
                }
                report.yield((true, finished))
            }
            report.yield((true, []))
            return nil
        }
        for await _ in opened {}
        try await Task.sleep(for: .milliseconds(200))  // the connection is registered before jobs are submitted
        let value = try await body(socket)
        group.cancelAll()
        return value
    }
}

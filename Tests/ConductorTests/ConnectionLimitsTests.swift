import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import NIOHTTP1
import Testing

/// Connections an unauthenticated client can open must not starve the fleet: malformed heads are answered and
/// closed, slow and idle connections time out, open connections are capped, JSON bodies are bounded.
@Suite("Connection limits")
struct ConnectionLimitsTests {
    static let model = "v1-5-pruned-emaonly.safetensors"

    static func statusLine(_ text: String) -> String { String(text.split(separator: "\r\n", maxSplits: 1).first ?? "") }

    @Test("a malformed request head is answered 400 and its connection closed")
    func malformedHeads() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))]) { fleet in
            let port = fleet.conductor.port
            let heads = [
                "POST /prompt HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
                "POST /prompt HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
                "GET /prompt HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
                "GET /prompt HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 1 << 20))\r\n\r\n",
                "GET /prompt HTTP/9.9 nonsense\r\n\r\n",
                "\u{1}\u{2}\u{3} garbage\r\n\r\n"
            ]
            for head in heads {
                let connection = try await RawConnection.open(port: port)
                try? await connection.send(head)
                let (text, closed) = try await connection.readUntilClosed(timeout: .seconds(5))
                await connection.close()
                #expect(Self.statusLine(text).hasPrefix("HTTP/1.1 400"), "\(head.prefix(60)) → \(Self.statusLine(text))")
                #expect(closed, "\(head.prefix(60)): still open")
            }
            #expect(try await fleet.conductor.get("/prompt").status == 200)
        }
    }

    @Test("a connection that sends its head a byte at a time, or nothing, is closed; others are answered meanwhile")
    func slowAndIdleConnections() async throws {
        try await withFleet(
            [TestNodeSpec(.test("a", checkpoints: [Self.model]))],
            configure: {
                $0.limits.headerTimeoutSeconds = 1
                $0.limits.idleTimeoutSeconds = 1
            }
        ) { fleet in
            let port = fleet.conductor.port
            let silent = try await RawConnection.open(port: port)
            let slow = try await RawConnection.open(port: port)
            let dripping = Task {
                for byte in "GET /prompt HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n" {
                    try? await slow.send(String(byte))
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            // A keep-alive connection that made one request, then says nothing.
            let kept = try await RawConnection.open(port: port)
            try await kept.send("GET /prompt HTTP/1.1\r\nHost: x\r\n\r\n")
            // A normal request meanwhile, on a connection of its own (a pooled one may be one the 1 s idle timeout closes).
            let normal = try await RawConnection.open(port: port)
            try await normal.send("GET /prompt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(
                Self.statusLine(try await normal.readResponseHead(timeout: .seconds(10))) == "HTTP/1.1 200 OK",
                "a normal request is answered meanwhile")
            let (slowText, slowClosed) = try await slow.readUntilClosed(timeout: .seconds(8))
            #expect(slowClosed, "the slow head is cut off")
            #expect(!slowText.contains("200 OK"))
            let (_, silentClosed) = try await silent.readUntilClosed(timeout: .seconds(8))
            #expect(silentClosed, "the silent connection is closed")
            let (keptText, keptClosed) = try await kept.readUntilClosed(timeout: .seconds(8))
            #expect(keptText.hasPrefix("HTTP/1.1 200"))
            #expect(keptClosed, "the idle keep-alive connection is closed")
            dripping.cancel()
            for connection in [silent, slow, kept, normal] { await connection.close() }
            let metrics = String(decoding: fleet.coordinator.metrics.exposition(), as: UTF8.self)
            #expect(metrics.contains("conductor_connections_timed_out_total 2"), "two heads never came")
        }
    }

    @Test("idle connections beyond the cap wait in the backlog; the cap holds, and a normal request is answered")
    func connectionCap() async throws {
        try await withFleet(
            [TestNodeSpec(.test("a", checkpoints: [Self.model]))],
            configure: {
                $0.limits.maxConnections = 16
                // Long enough that the idle ones are all still open when a loaded machine has accepted them.
                $0.limits.headerTimeoutSeconds = 8
            }
        ) { fleet in
            let port = fleet.conductor.port
            var idle: [RawConnection] = []
            for _ in 0..<40 { idle.append(try await RawConnection.open(port: port)) }
            // Read in-process: every HTTP slot is taken.
            func gauge(_ name: String) -> Double? {
                let text = String(decoding: fleet.coordinator.metrics.exposition(), as: UTF8.self)
                return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
            }
            try await eventually(timeout: 20, "the cap reached") { (gauge("conductor_connection_limit_reached_total") ?? 0) >= 1 }
            // The cap stops accepting once reached; the accept batch in flight (NIO takes up to 4 at a time) may land.
            let open = gauge("conductor_http_connections") ?? 0
            #expect(open <= 16 + 3, "open connections: \(open)")
            // A normal request waits for a slot (idle ones time out) and is answered.
            #expect(try await fleet.conductor.get("/prompt").status == 200)
            for connection in idle { await connection.close() }
        }
    }

    @Test("a JSON body over limits.maxJsonBytes answers 413, declared or chunked, and nothing is queued")
    func jsonBodyLimit() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))], configure: { $0.limits.maxJsonBytes = 64 * 1024 }) { fleet in
            let big = #"{"prompt": {}, "pad": ""# + String(repeating: "a", count: 100 * 1024) + #""}"#
            let declared = try await fleet.conductor.request(.POST, "/prompt", raw: Array(big.utf8), headers: [("Content-Type", "application/json")])
            #expect(declared.status == 413)
            let port = fleet.conductor.port
            let connection = try await RawConnection.open(port: port)
            var chunked = "POST /prompt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
            for _ in 0..<20 { chunked += String(8192, radix: 16) + "\r\n" + String(repeating: " ", count: 8192) + "\r\n" }
            chunked += "0\r\n\r\n"
            try? await connection.send(chunked)
            let text = try await connection.readResponseHead(timeout: .seconds(10))
            await connection.close()
            #expect(Self.statusLine(text).hasPrefix("HTTP/1.1 413"))
            #expect(try await fleet.conductor.get("/prompt").json?["exec_info"]?["queue_remaining"] == 0)
            let small = try await fleet.conductor.post("/prompt", ["prompt": TestFleet.prompt(checkpoint: Self.model)])
            #expect(small.status == 200)
        }
    }
}

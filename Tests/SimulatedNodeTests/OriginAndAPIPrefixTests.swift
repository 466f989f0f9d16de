import ComfyWire
import ConductorTesting
import Foundation
import NIOHTTP1
import SimulatedNode
import Testing

/// ComfyUI's default origin check, and every route answering under `/api` as well.
@Suite("Origin check and /api routes")
struct OriginAndAPIPrefixTests {
    @Test("a loopback Host with a foreign Origin is a 403 with no body")
    func foreignOriginIsRefused() async throws {
        try await withNode { _, client in
            let result = try await client.request(.GET, "/queue", headers: [("Origin", "http://evil.example")])
            #expect(result.status == 403)
            #expect(result.body.isEmpty)
        }
    }

    @Test("a cross-origin POST /prompt is refused and queues nothing")
    func foreignOriginCannotQueue() async throws {
        try await withNode { _, client in
            let result = try await client.request(
                .POST, "/prompt", json: Behaviour.quickJob(color: 3),
                headers: [("Origin", "http://evil.example")])
            #expect(result.status == 403)
            #expect(try await Behaviour.queueRemaining(client) == 0)
            #expect(try await client.get("/history").json == [:])
        }
    }

    @Test("Sec-Fetch-Site: cross-site is a 403")
    func crossSiteFetchIsRefused() async throws {
        try await withNode { _, client in
            let result = try await client.request(.GET, "/system_stats", headers: [("Sec-Fetch-Site", "cross-site")])
            #expect(result.status == 403)
            #expect(result.body.isEmpty)
        }
    }

    @Test("an Origin matching the Host is accepted")
    func matchingOriginIsAccepted() async throws {
        try await withNode { _, client in
            let result = try await client.request(.GET, "/queue", headers: [("Origin", "http://127.0.0.1:\(client.port)")])
            #expect(result.status == 200)
            #expect(result.json?["queue_pending"] == [])
        }
    }

    @Test("/api/prompt, /api/queue, /api/history, /api/view and /api/ws behave like the plain routes")
    func apiPrefix() async throws {
        try await withNode { _, client in
            try await withWebSocket(port: client.port, clientID: "prefixed", path: "/api/ws") { socket in
                #expect(socket.messages.first?["type"] == "status")
                let submitted = try await client.post("/api/prompt", Behaviour.quickJob(color: 0xABCDEF, clientID: "prefixed"))
                #expect(submitted.status == 200)
                let id = try #require(submitted.json?["prompt_id"]?.stringValue)
                try await socket.waitForEnd(of: id)
                #expect(socket.messages.contains { $0["type"] == "execution_success" && $0["data"]?["prompt_id"]?.stringValue == id })

                #expect(try await client.get("/api/prompt").json == ["exec_info": ["queue_remaining": 0]])
                #expect(try await client.get("/api/queue").json == ["queue_running": [], "queue_pending": []])
                let history = try await client.get("/api/history").json
                #expect(history?.objectValue?.keys == [id])
                #expect(try await client.get("/api/history/\(id)").json == history)

                let filename = try #require(history?[id]?["outputs"]?["2"]?["images"]?[0]?["filename"]?.stringValue)
                let prefixed = try await client.get("/api/view?filename=\(filename)")
                #expect(prefixed.status == 200)
                #expect(prefixed.body == (try await client.get("/view?filename=\(filename)").body))
                #expect(try PNG.decode(prefixed.body).pixels.prefix(3) == [0xAB, 0xCD, 0xEF])

                let cleared = try await client.post("/api/history", ["clear": true])
                #expect(cleared.status == 200)
                #expect(try await client.get("/history").json == [:])
            }
        }
    }
}

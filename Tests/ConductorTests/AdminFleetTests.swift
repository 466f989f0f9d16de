import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import NIOHTTP1
import SimulatedNode
import Testing

/// Adding and removing nodes at run time through the admin API, kept across restarts over cluster.json.
@Suite("Admin API: fleet changes")
struct AdminFleetTests {
    static let sd15 = "v1-5-pruned-emaonly.safetensors"

    static func names(_ client: TestClient) async throws -> [String] {
        try await client.get("/conductor/api/nodes").json?["nodes"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    }

    static func node(_ name: String, _ client: TestClient) async throws -> JSONValue? {
        try await client.get("/conductor/api/nodes").json?["nodes"]?.arrayValue?.first { $0["name"]?.stringValue == name }
    }

    /// Which node ran a finished prompt, from its first output's subfolder in Conductor's history.
    static func ranOn(_ id: String, _ client: TestClient) async throws -> String? {
        let entry = try await client.waitForHistory(id)
        #expect(entry["status"]?["status_str"] == "success")
        return entry["outputs"]?.objectValue?.values.first?["images"]?[0]?["subfolder"]?.stringValue?
            .split(separator: "/").first.map(String.init)
    }

    @Test("a node added at run time gets work and stays after a restart; a removed one gives its jobs back and stays gone")
    func addAndRemoveNodes() async throws {
        let specs = ["a", "b"].map { TestNodeSpec(.test($0, checkpoints: [Self.sd15]), maxOutstanding: 1) }
        try await withNodes(specs) { started, full in
            var config = full
            config.nodes = full.nodes.filter { $0.name == "a" }  // cluster.json knows only a
            let b = try #require(full.nodes.first { $0.name == "b" })
            let sidOnB = "conductor-"  // Conductor's client ids on nodes start so
            try await withConductor(config) { coordinator, port in
                let client = TestClient(port: port)
                try await waitUntilReady(coordinator, nodeCount: 1)
                let added = try await client.post("/conductor/api/nodes", ["name": "b", "url": .string(b.url), "maxOutstanding": 1])
                #expect(added.status == 201)
                #expect(added.json?["name"] == "b")
                #expect(try await client.post("/conductor/api/nodes", ["name": "b", "url": .string(b.url)]).status == 409)
                let bad = try await client.post("/conductor/api/nodes", ["name": "c"])
                #expect(bad.status == 400)
                #expect(bad.json?["error"]?.stringValue?.contains("url") == true, "the error names the missing key")
                #expect(try await client.request(.POST, "/conductor/api/nodes", raw: Array("{not json".utf8)).status == 400)
                try await waitUntilReady(coordinator, nodeCount: 2)
                #expect(try await Self.names(client) == ["a", "b"])
                #expect(try await client.post("/conductor/api/nodes/a/drain", [:]).status == 200)
                let id = try await client.submit(["prompt": TestFleet.prompt(checkpoint: Self.sd15, seed: 1), "client_id": "ops"])
                #expect(try await Self.ranOn(id, client) == "b", "the added node takes work (a is drained)")
            }
            // Restarted on the same cluster.json: b is still there, a still drained.
            try await withConductor(config) { coordinator, port in
                let client = TestClient(port: port)
                try await waitUntilReady(coordinator, nodeCount: 2)
                #expect(try await Self.names(client) == ["a", "b"])
                #expect(try await Self.node("a", client)?["draining"] == true)
                await started["b"]!.node.inject(.hang(true))
                let id = try await client.submit(["prompt": TestFleet.prompt(checkpoint: Self.sd15, seed: 2), "client_id": "ops"])
                try await eventually("the job running on b") { try await Self.node("b", client)?["current"]?["id"]?.stringValue == id }
                #expect(await started["b"]!.node.webSocketClientIDs.contains { $0.hasPrefix(sidOnB) })
                #expect(try await client.post("/conductor/api/nodes/a/undrain", [:]).status == 200)
                let removed = try await client.request(.DELETE, "/conductor/api/nodes/b")
                #expect(removed.status == 200)
                #expect(removed.json?["requeued"] == [.string(id)])
                #expect(try await Self.names(client) == ["a"])
                #expect(try await Self.ranOn(id, client) == "a", "the removed node's job went back to the fleet and ran on a")
                try await eventually("Conductor's link to b closed") {
                    await !started["b"]!.node.webSocketClientIDs.contains { $0.hasPrefix(sidOnB) }
                }
                #expect(try await client.request(.DELETE, "/conductor/api/nodes/b").status == 404)
                let history = try #require(try await client.get("/history").json?.objectValue)
                #expect(history.count == 2, "one history entry per job")
            }
            await started["b"]!.node.inject(.hang(false))
            // Restarted again: b stays removed.
            try await withConductor(config) { coordinator, port in
                let client = TestClient(port: port)
                try await waitUntilReady(coordinator, nodeCount: 1)
                #expect(try await Self.names(client) == ["a"])
                #expect(try await Self.node("a", client)?["draining"] == false)
                let id = try await client.submit(["prompt": TestFleet.prompt(checkpoint: Self.sd15, seed: 3), "client_id": "ops"])
                #expect(try await Self.ranOn(id, client) == "a")
            }
        }
    }
}

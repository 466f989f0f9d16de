import AsyncHTTPClient
import ComfyWire
import ConductorTesting
import Foundation
import NIOCore
import SimulatedNode
import Testing

/// Injected faults, each observed the way a client of the node would notice it.
@Suite("Fault injection")
struct FaultInjectionTests {
    /// The `execution_error` data recorded in a history entry, if the prompt failed.
    static func executionError(_ entry: JSONValue) -> JSONValue? {
        entry["status"]?["messages"]?.arrayValue?.first { $0[0] == "execution_error" }?[1]
    }

    @Test("failNextPrompts fails exactly the next prompt with its message; the one after succeeds")
    func failNextPrompt() async throws {
        try await withNode { node, client in
            try await withWebSocket(port: client.port, clientID: "faulty") { socket in
                await node.inject(.failNextPrompts(count: 1, message: "boom"))
                let failed = try await client.submit(Behaviour.workJob(seed: 1, clientID: "faulty"))
                try await socket.waitForEnd(of: failed)
                let error = try #require(socket.messages.first { $0["type"] == "execution_error" }?["data"])
                #expect(error["prompt_id"]?.stringValue == failed)
                #expect(error["exception_message"] == "boom\n")
                let entry = try await client.waitForHistory(failed)
                #expect(entry["status"]?["status_str"] == "error")
                #expect(Self.executionError(entry)?["exception_message"] == "boom\n")

                let next = try await client.submit(Behaviour.workJob(seed: 2, clientID: "faulty"))
                try await socket.waitForEnd(of: next)
                #expect(try await client.waitForHistory(next)["status"]?["status_str"] == "success")
                #expect(socket.messages.filter { $0["type"] == "execution_error" }.count == 1)
            }
        }
    }

    @Test("crashAndRestart mid-job closes its socket, refuses connections, then comes back empty on the same port")
    func crashAndRestart() async throws {
        try await withNode { node, client in
            let crashed = try await withObservedWebSocket(port: client.port, clientID: "crash") { socket in
                await node.inject(.hang(true))
                let id = try await client.submit(Behaviour.workJob(seed: 1, clientID: "crash"))
                try await Behaviour.waitUntilRunning(id, client)
                try await client.submit(Behaviour.workJob(seed: 2, clientID: "crash"))

                await node.inject(.crashAndRestart(downSeconds: 0.5))
                try await eventually("socket closed by the node") { socket.closedByServer }
                try await eventually("connections refused") { await Behaviour.isUnreachable(client) }
                return id
            }
            try await eventually("node back on port \(client.port)") { await !Behaviour.isUnreachable(client) }

            let queue = try await client.get("/queue").json
            #expect(queue == ["queue_running": [], "queue_pending": []])
            #expect(try await client.get("/history").json == [:])
            #expect(try await Behaviour.queueRemaining(client) == 0)

            let fresh = try await client.submit(Behaviour.workJob(seed: 3, clientID: "crash"))
            #expect(try await client.waitForHistory(fresh)["status"]?["status_str"] == "success")
            #expect(try await Behaviour.historyIDs(client) == [fresh])
            #expect(try await client.get("/history/\(crashed)").json == [:])
        }
    }

    @Test("refuseConnections closes the listener for a while and keeps history")
    func refuseConnectionsKeepsState() async throws {
        try await withNode { node, client in
            let id = try await client.submit(Behaviour.quickJob(color: 0x445566))
            _ = try await client.waitForHistory(id)
            await node.inject(.refuseConnections(seconds: 0.5))
            try await eventually("connections refused") { await Behaviour.isUnreachable(client) }
            try await eventually("node back") { await !Behaviour.isUnreachable(client) }
            #expect(try await Behaviour.historyIDs(client) == [id])
        }
    }

    @Test("dropWebSockets closes every socket while HTTP keeps answering")
    func dropWebSockets() async throws {
        try await withNode { node, client in
            try await withObservedWebSocket(port: client.port, clientID: "dropped") { socket in
                await node.inject(.dropWebSockets)
                try await eventually("socket closed by the node") { socket.closedByServer }
                #expect(try await client.get("/queue").status == 200)
            }
            try await withWebSocket(port: client.port, clientID: "dropped") { socket in
                #expect(socket.messages.first?["data"]?["sid"] == "dropped", "a new socket is accepted")
            }
        }
    }

    @Test("slowResponses makes a 1 s client timeout fire until it is cleared")
    func slowResponses() async throws {
        try await withNode { node, client in
            // Margins wide enough for a loaded machine: the delay is 3 s, the client waits 1 s.
            await node.inject(.slowResponses(seconds: 3))
            await #expect(throws: HTTPClientError.self) {
                _ = try await Behaviour.get(client, "/prompt", timeout: .seconds(1))
            }
            await node.inject(.slowResponses(seconds: 0))
            try await eventually("a fast answer") {
                (try? await Behaviour.get(client, "/prompt", timeout: .seconds(1))) == 200
            }
        }
    }

    @Test("POST /sim/faults is a 404 when the profile does not enable fault control")
    func faultRouteIsOffByDefault() async throws {
        try await withNode { _, client in
            let result = try await client.post("/sim/faults", ["fault": "fail_next_prompts", "count": 1])
            #expect(result.status == 404)
            let id = try await client.submit(Behaviour.quickJob(color: 1))
            #expect(try await client.waitForHistory(id)["status"]?["status_str"] == "success")
        }
    }

    @Test("POST /sim/faults applies fail_next_prompts when the profile enables fault control")
    func faultRouteAppliesFaults() async throws {
        var profile = NodeProfile.test
        profile.faultControl = true
        try await withNode(profile) { _, client in
            let result = try await client.post("/sim/faults", ["fault": "fail_next_prompts", "count": 1])
            #expect(result.status == 200)
            #expect(try await client.post("/sim/faults", ["fault": "no_such_fault"]).status == 400)

            let failed = try await client.submit(Behaviour.quickJob(color: 1))
            let entry = try await client.waitForHistory(failed)
            #expect(entry["status"]?["status_str"] == "error")
            #expect(Self.executionError(entry)?["exception_message"] == "Simulated node failure\n")
            let next = try await client.submit(Behaviour.quickJob(color: 2))
            #expect(try await client.waitForHistory(next)["status"]?["status_str"] == "success")
        }
    }
}

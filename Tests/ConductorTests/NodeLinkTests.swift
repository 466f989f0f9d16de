import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// A node link must come back by itself from what the network in between does to it.
@Suite("Node links")
struct NodeLinkTests {
    static let model = "v1-5-pruned-emaonly.safetensors"

    /// One simulated node behind a `TCPRelay`, Conductor in front of the relay with the node's WebSocket up.
    static func withRelayedNode(
        _ body: @Sendable (_ node: SimulatedNode, _ relay: TCPRelay, _ conductor: TestClient) async throws -> Void
    ) async throws {
        try await withNodes([TestNodeSpec(.test("a", checkpoints: [Self.model]))]) { started, config in
            let relay = try await TCPRelay.start(to: started["a"]!.client.port)
            var config = config
            config.nodes[0].url = "http://127.0.0.1:\(relay.port)"
            try await withConductor(config) { coordinator, port in
                try await waitUntilReady(coordinator, nodeCount: 1)
                let conductor = TestClient(port: port)
                try await Self.waitForWebSocket(conductor, connected: true)
                try await body(started["a"]!.node, relay, conductor)
            }
            await relay.stop()
        }
    }

    /// Submits `count` prompts and expects each to succeed within `timeout`.
    static func submitAndExpectSuccess(_ conductor: TestClient, count: Int, timeout: Double) async throws {
        var ids: [String] = []
        for seed in 1...count {
            ids.append(try await conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: seed)]))
        }
        for id in ids {
            #expect(try await conductor.waitForHistory(id, timeout: timeout)["status"]?["status_str"] == "success")
        }
    }

    @Test("a link half-closed by a box in between (a FIN, no close frame) reconnects, and the waiting jobs run")
    func halfClosedLinkReconnects() async throws {
        try await Self.withRelayedNode { _, relay, conductor in
            relay.halfCloseAll()
            try await Self.submitAndExpectSuccess(conductor, count: 4, timeout: 30)
            try await Self.waitForWebSocket(conductor, connected: true)
            #expect(try await conductor.get("/readyz").status == 200)
        }
    }

    @Test("a reconnect that meets a relay answering nothing (its node restarting behind it) is given up and tried again")
    func reconnectThroughSilentRelay() async throws {
        try await Self.withRelayedNode { node, _, conductor in
            // While the node is away, the relay takes each reconnect and half-closes it without a word.
            await node.inject(.crashAndRestart(downSeconds: 1))
            try await Self.waitForWebSocket(conductor, connected: false)
            try await Self.submitAndExpectSuccess(conductor, count: 3, timeout: 40)
        }
    }

    @Test("a node without its WebSocket beyond the grace period holds no waiting job: it runs elsewhere, once")
    func unlinkedNodeHoldsNoJobs() async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: [Self.model]), maxOutstanding: 2),
            TestNodeSpec(.test("b", checkpoints: [Self.model]), maxOutstanding: 2)
        ]
        try await withFleet(specs, configure: { $0.limits.nodeWebSocketGraceSeconds = 1 }) { fleet in
            let conductor = fleet.conductor
            #expect(try await conductor.post("/conductor/api/nodes/b/drain", [:]).status == 200)
            await fleet.node("a").inject(.hang(true))
            let running = try await conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: 1)])
            let waiting = try await conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: 2)])
            try await eventually("both on a") {
                try await fleet.direct("a").get("/queue").json.map {
                    ($0["queue_running"]?.arrayValue?.count ?? 0) + ($0["queue_pending"]?.arrayValue?.count ?? 0)
                } == 2
            }
            #expect(try await conductor.post("/conductor/api/nodes/b/undrain", [:]).status == 200)
            await fleet.node("a").inject(.refuseWebSockets(true))
            #expect(try await conductor.waitForHistory(waiting, timeout: 20)["status"]?["status_str"] == "success")
            #expect(try await fleet.nodeThatRan(waiting) == "b")
            let pendingOnA = try await fleet.direct("a").get("/queue").json?["queue_pending"]?.arrayValue ?? []
            #expect(pendingOnA.isEmpty, "deleted from a's queue")
            // The running one stays with a and ends there, heard through a's /queue and history.
            await fleet.node("a").inject(.hang(false))
            #expect(try await conductor.waitForHistory(running, timeout: 20)["status"]?["status_str"] == "success")
            #expect(try await fleet.nodeThatRan(running) == "a")
            #expect(await fleet.node("a").executionCount == 1)
            await fleet.node("a").inject(.refuseWebSockets(false))
        }
    }

    static func waitForWebSocket(_ conductor: TestClient, connected: Bool) async throws {
        try await eventually(timeout: 30, "the node's websocket \(connected ? "up" : "down")") {
            try await conductor.get("/conductor/api/nodes").json?["nodes"]?[0]?["websocket"] == .bool(connected)
        }
    }
}

import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// One node's slowness stays that node's: a node that never answers a delivery or a `POST /prompt` holds up only the
/// jobs sent to it.
@Suite("A slow node")
struct SlowNodeTests {
    static let model = "v1-5-pruned-emaonly.safetensors"

    /// Runs `body` with `routes` stalled on `node`, and answers them again whatever happens: a request left hanging
    /// would keep polling its fault for the rest of the test run.
    static func stalling<T: Sendable>(_ routes: [String], on node: SimulatedNode, _ body: () async throws -> T) async throws -> T {
        await node.inject(.stallRequests(routes))
        do {
            let result = try await body()
            await node.inject(.stallRequests([]))
            return result
        } catch {
            await node.inject(.stallRequests([]))
            throw error
        }
    }

    @Test(
        "a node hanging on POST /prompt or on uploads: the other node still gets and runs work, and its clients' progress flows",
        arguments: ["POST /prompt", "POST /upload/image"])
    func otherNodesCarryOn(_ route: String) async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: [Self.model]), maxOutstanding: 2),
            TestNodeSpec(.test("b", checkpoints: [Self.model]), maxOutstanding: 2)
        ]
        try await withFleet(specs) { fleet in
            try await Self.stalling([route], on: fleet.node("a")) { try await Self.carryOn(fleet) }
        }
    }

    static func carryOn(_ fleet: TestFleet) async throws {
        // Every job reads an upload, so each one is delivered to its node before it is posted.
        let png = PNG.encode(RasterImage(width: 4, height: 4, channels: 3, pixels: [UInt8](repeating: 7, count: 48)))
        #expect(try await fleet.conductor.multipart("/upload/image", fields: [], file: ("image", "in.png", png)).status == 200)
        @Sendable func prompt(_ seed: Int) -> JSONValue {
            var graph = TestFleet.prompt(checkpoint: Self.model, seed: seed, steps: 20).objectValue ?? [:]
            graph["20"] = ["class_type": "LoadImage", "inputs": ["image": "in.png"]]
            graph["21"] = ["class_type": "SaveImage", "inputs": ["images": ["20", 0], "filename_prefix": .string("copy\(seed)")]]
            return .object(graph)
        }
        try await withWebSocket(port: fleet.conductor.port, clientID: "watcher") { socket in
            var ids: [String] = []
            for seed in 1...6 { ids.append(try await fleet.conductor.submit(["prompt": prompt(seed), "client_id": "watcher"])) }
            // a holds two jobs it will never take; b runs the other four, two at a time.
            var onB: [String] = []
            // Waited for up to the 30 s a POST to a node may take: had b's jobs waited behind a's, a's two would
            // have timed out and gone back to the queue by then.
            try await eventually(timeout: 28, "four jobs finished on b") {
                onB = []
                for id in ids {
                    guard let entry = try await fleet.conductor.get("/history/\(id)").json?[id] else { continue }
                    if entry["status"]?["status_str"] == "success", try await fleet.nodeThatRan(id) == "b" { onB.append(id) }
                }
                return onB.count == 4
            }
            let progressed = Set(socket.messages.filter { $0["type"] == "progress" }.compactMap { $0["data"]?["prompt_id"]?.stringValue })
            #expect(Set(onB).isSubset(of: progressed), "the client heard every job on b progress")
            let held = try await fleet.conductor.get("/conductor/api/jobs").json?["queue"]?.arrayValue?.filter { $0["node"] == "a" } ?? []
            #expect(held.count == 2 && held.allSatisfy { $0["state"] == "dispatched" }, "a still holds the two jobs sent to it: \(held)")
            // a answers again: its two jobs run, and no request is left hanging when the fleet stops.
            await fleet.node("a").inject(.stallRequests([]))
            for id in ids { #expect(try await fleet.conductor.waitForHistory(id, timeout: 40)["status"]?["status_str"] == "success") }
        }
    }

    @Test("a node hanging on GET /history: its finished job waits for its history, the other node's jobs end and their progress flows")
    func historyFetchHoldsOnlyItsNode() async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: [Self.model]), maxOutstanding: 1),
            TestNodeSpec(.test("b", checkpoints: [Self.model]), maxOutstanding: 1)
        ]
        try await withFleet(specs) { fleet in
            try await Self.stalling([], on: fleet.node("a")) { try await Self.historyHeld(fleet) }
        }
    }

    static func historyHeld(_ fleet: TestFleet) async throws {
        try await withWebSocket(port: fleet.conductor.port, clientID: "watcher") { socket in
            // The first job goes to a (b drained); a then never answers a history read.
            #expect(try await fleet.conductor.post("/conductor/api/nodes/b/drain", [:]).status == 200)
            await fleet.node("a").inject(.stallRequests(["GET /history/*"]))
            let first = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: 1), "client_id": "watcher"])
            try await eventually("the first job ran on a") { await fleet.node("a").executionCount == 1 }
            #expect(try await fleet.conductor.post("/conductor/api/nodes/b/undrain", [:]).status == 200)
            var others: [String] = []
            for seed in 2...4 {
                others.append(
                    try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: seed), "client_id": "watcher"]))
            }
            // Each history read of a waits 10 s, three times: b's jobs end well before that, heard by their client.
            for id in others {
                #expect(try await fleet.conductor.waitForHistory(id, timeout: 25)["status"]?["status_str"] == "success")
                #expect(try await fleet.nodeThatRan(id) == "b")
            }
            let progressed = Set(socket.messages.filter { $0["type"] == "progress" }.compactMap { $0["data"]?["prompt_id"]?.stringValue })
            #expect(Set(others).isSubset(of: progressed))
            #expect(try await fleet.conductor.get("/history/\(first)").json == [:], "a's job is still waiting for its history")
            // a answers again: its job ends, once, and its client hears the end.
            await fleet.node("a").inject(.stallRequests([]))
            #expect(try await fleet.conductor.waitForHistory(first, timeout: 15)["status"]?["status_str"] == "success")
            try await socket.waitForEnd(of: first)
        }
    }
}

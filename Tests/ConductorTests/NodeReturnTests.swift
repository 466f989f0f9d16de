import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// A node that comes back (thawed, or its partition healed) runs nothing that was moved elsewhere.
@Suite("A node that comes back")
struct NodeReturnTests {
    static let model = "v1-5-pruned-emaonly.safetensors"

    enum Away { case frozen, partitioned }

    @Test(
        "frozen or partitioned with a running and a waiting job: both run elsewhere once, and the node drops them when back",
        arguments: [Away.frozen, Away.partitioned])
    func nodeComesBack(_ away: Away) async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: [Self.model]), maxOutstanding: 2),
            TestNodeSpec(.test("b", checkpoints: [Self.model]), maxOutstanding: 2)
        ]
        try await withFleet(specs) { fleet in
            try await withWebSocket(port: fleet.conductor.port, clientID: "back") { socket in
                let a = fleet.node("a")
                #expect(try await fleet.conductor.post("/conductor/api/nodes/b/drain", [:]).status == 200)
                // The running job makes no progress on a (so it is still running when a comes back).
                await a.inject(.hang(true))
                let running = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: 1), "client_id": "back"])
                let waiting = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: 2), "client_id": "back"])
                try await eventually("one running and one waiting on a") {
                    let queue = try await fleet.direct("a").get("/queue").json
                    return queue?["queue_running"]?[0]?[1]?.stringValue == running && queue?["queue_pending"]?[0]?[1]?.stringValue == waiting
                }
                #expect(try await fleet.conductor.post("/conductor/api/nodes/b/undrain", [:]).status == 200)
                switch away {
                case .frozen: await a.inject(.freeze(true))
                case .partitioned: await a.inject(.refuseConnections(seconds: 3))
                }
                for id in [running, waiting] {
                    #expect(try await fleet.conductor.waitForHistory(id, timeout: 30)["status"]?["status_str"] == "success")
                    #expect(try await fleet.nodeThatRan(id) == "b")
                }
                if away == .frozen { await a.inject(.freeze(false)) }
                // Back: the waiting one is deleted from a's queue, the running one interrupted.
                try await eventually(timeout: 30, "a's queue emptied") {
                    guard let queue = try? await fleet.direct("a").get("/queue").json else { return false }
                    return queue["queue_running"]?.arrayValue?.isEmpty == true && queue["queue_pending"]?.arrayValue?.isEmpty == true
                }
                await a.inject(.hang(false))
                // a ends the interrupted run: what it says of it comes now, if at all.
                try await eventually(timeout: 10, "a's record of the interrupted run") {
                    try await fleet.direct("a").get("/history").json?[running] != nil
                }
                let onA = try await fleet.direct("a").get("/history").json?.objectValue ?? [:]
                #expect(onA[waiting] == nil, "the waiting job never ran on a")
                #expect(onA[running]?["status"]?["status_str"] != "success", "the running job was stopped on a, no second output")
                #expect(onA[running]?["outputs"]?.objectValue?.isEmpty ?? true)
                // The client heard one end per job, history has one entry per job.
                try await socket.waitForEnd(of: running)
                try await socket.waitForEnd(of: waiting)
                for id in [running, waiting] {
                    let heard = ChaosTests.completions(id, socket)
                    #expect(heard.ends == 1 && heard.successes == 1, "\(id): the client heard \(heard)")
                }
                let history = try await fleet.conductor.get("/history").json?.objectValue ?? [:]
                #expect(history.count == 2)
                let metrics = String(decoding: fleet.coordinator.metrics.exposition(), as: UTF8.self)
                // Counted per removal sent: a second `/queue` answer asked before the first removal landed sends it again.
                #expect(metrics.contains(#"conductor_node_prompts_removed_total{node="a",state="waiting"}"#))
                #expect(metrics.contains(#"conductor_node_prompts_removed_total{node="a",state="running"}"#))
            }
        }
    }
}

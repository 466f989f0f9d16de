import ComfyWire
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// Queue order, priority numbers and queue editing, with the worker held on a running job.
@Suite("Queue semantics")
struct QueueTests {
    /// Submits a job that will wait behind the held one and returns its response body.
    static func enqueue(_ client: TestClient, _ body: JSONValue) async throws -> (id: String, number: JSONValue?, text: String) {
        let result = try await client.post("/prompt", body)
        #expect(result.status == 200, "POST /prompt answered \(result.status): \(result.text)")
        let id = try #require(result.json?["prompt_id"]?.stringValue)
        return (id, result.json?["number"], result.text)
    }

    /// Holds the worker on a running job and returns its id.
    static func holdRunningJob(_ node: SimulatedNode, _ client: TestClient) async throws -> String {
        await node.inject(.hang(true))
        let running = try await client.submit(Behaviour.workJob(seed: 0))
        try await Behaviour.waitUntilRunning(running, client)
        return running
    }

    @Test("front jobs run before normal ones, the latest front first, and an explicit number places a job")
    func priorityOrder() async throws {
        try await withNode { node, client in
            let running = try await Self.holdRunningJob(node, client)
            let normal = try await Self.enqueue(client, Behaviour.workJob(seed: 1))
            let firstFront = try await Self.enqueue(client, Behaviour.workJob(seed: 2).setting(["front"], to: true))
            let lastFront = try await Self.enqueue(client, Behaviour.workJob(seed: 3).setting(["front"], to: true))
            let numbered = try await Self.enqueue(client, Behaviour.workJob(seed: 4).setting(["number"], to: 7))
            let later = try await Self.enqueue(client, Behaviour.workJob(seed: 5))

            #expect(normal.number == 1)
            #expect(firstFront.number == -2)
            #expect(lastFront.number == -3)
            #expect(numbered.text.contains("\"number\": 7.0"), "explicit number echoed as a float: \(numbered.text)")
            #expect(later.number == 4, "an explicit number leaves the server's counter where it was")

            #expect(try await Behaviour.queueRemaining(client) == 6)
            let queue = try await client.get("/queue").json
            #expect(queue?["queue_running"]?.arrayValue?.map { $0[1] } == [.string(running)])
            #expect(queue?["queue_pending"]?.arrayValue?.count == 5)
            #expect(queue?["queue_pending"]?[0]?[1]?.stringValue == lastFront.id, "the heap's first element runs next")

            await node.inject(.hang(false))
            _ = try await client.waitForHistory(numbered.id)
            let order = try await Behaviour.historyIDs(client)
            #expect(order == [running, lastFront.id, firstFront.id, normal.id, later.id, numbered.id])
            #expect(try await Behaviour.queueRemaining(client) == 0)
        }
    }

    @Test("POST /queue delete removes a pending job and never the running one")
    func deleteSparesTheRunningJob() async throws {
        try await withNode { node, client in
            let running = try await Self.holdRunningJob(node, client)
            let doomed = try await client.submit(Behaviour.workJob(seed: 1))
            let kept = try await client.submit(Behaviour.workJob(seed: 2))
            #expect(try await Behaviour.queueRemaining(client) == 3)

            let delete = try await client.post("/queue", ["delete": [.string(running), .string(doomed)]])
            #expect(delete.status == 200 && delete.body.isEmpty)
            let queue = try await client.get("/queue").json
            #expect(queue?["queue_running"]?.arrayValue?.map { $0[1] } == [.string(running)])
            #expect(queue?["queue_pending"]?.arrayValue?.map { $0[1] } == [.string(kept)])
            #expect(try await Behaviour.queueRemaining(client) == 2)

            await node.inject(.hang(false))
            _ = try await client.waitForHistory(kept)
            #expect(try await Behaviour.historyIDs(client) == [running, kept])
            #expect(try await client.get("/history/\(doomed)").json == [:])
        }
    }

    @Test("POST /queue clear empties the pending jobs and leaves the running one to finish")
    func clearEmptiesPendingOnly() async throws {
        try await withNode { node, client in
            let running = try await Self.holdRunningJob(node, client)
            let pending = [try await client.submit(Behaviour.workJob(seed: 1)), try await client.submit(Behaviour.workJob(seed: 2))]
            #expect(try await Behaviour.queueRemaining(client) == 3)

            let clear = try await client.post("/queue", ["clear": true])
            #expect(clear.status == 200)
            let queue = try await client.get("/queue").json
            #expect(queue?["queue_running"]?.arrayValue?.map { $0[1] } == [.string(running)])
            #expect(queue?["queue_pending"] == [])
            #expect(try await Behaviour.queueRemaining(client) == 1)

            await node.inject(.hang(false))
            _ = try await client.waitForHistory(running)
            try await eventually("idle queue") { try await Behaviour.queueRemaining(client) == 0 }
            #expect(try await Behaviour.historyIDs(client) == [running])
            for id in pending { #expect(try await client.get("/history/\(id)").json == [:]) }
        }
    }
}

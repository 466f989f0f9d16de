import ComfyWire
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// `GET /history` paging and `POST /history` editing over prompts completed one after another.
@Suite("History paging and editing")
struct HistoryTests {
    /// Runs `count` prompts, each to completion before the next, and returns their ids in completion order.
    static func completePrompts(_ count: Int, _ client: TestClient) async throws -> [String] {
        var ids: [String] = []
        for index in 0..<count {
            let id = try await client.submit(Behaviour.quickJob(color: 0x010101 * (index + 1)))
            _ = try await client.waitForHistory(id)
            ids.append(id)
        }
        return ids
    }

    @Test("max_items gives the newest entries oldest first; offset counts from the oldest")
    func paging() async throws {
        try await withNode { _, client in
            let ids = try await Self.completePrompts(5, client)
            #expect(try await Behaviour.historyIDs(client) == ids)
            #expect(try await Behaviour.historyIDs(client, query: "?max_items=2") == [ids[3], ids[4]])
            #expect(try await Behaviour.historyIDs(client, query: "?offset=1&max_items=2") == [ids[1], ids[2]])
            #expect(try await Behaviour.historyIDs(client, query: "?offset=3") == [ids[3], ids[4]])
        }
    }

    @Test("a non-integer max_items or offset is a 500")
    func nonIntegerParameters() async throws {
        try await withNode { _, client in
            _ = try await Self.completePrompts(1, client)
            #expect(try await client.get("/history?max_items=two").status == 500)
            #expect(try await client.get("/history?max_items=1.5").status == 500)
            #expect(try await client.get("/history?offset=first").status == 500)
        }
    }

    @Test("POST /history delete removes one entry and clear removes them all")
    func deleteAndClear() async throws {
        try await withNode { _, client in
            let ids = try await Self.completePrompts(5, client)
            let delete = try await client.post("/history", ["delete": [.string(ids[0]), "not-a-prompt"]])
            #expect(delete.status == 200 && delete.body.isEmpty)
            #expect(try await Behaviour.historyIDs(client) == Array(ids.dropFirst()))
            let gone = try await client.get("/history/\(ids[0])")
            #expect(gone.status == 200 && gone.json == [:])

            #expect(try await client.post("/history", ["clear": true]).status == 200)
            #expect(try await client.get("/history").json == [:])
            #expect(try await client.get("/history/\(ids[4])").json == [:])
        }
    }
}

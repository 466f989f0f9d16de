import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// Nodes dying, restarting without their queue, running too long, a job that kills every node it touches:
/// each test counts what a client sees — jobs lost (must be 0), false completions (0), duplicate executions.
@Suite("Chaos: no job lost, none reported done twice")
struct ChaosTests {
    static let model = "v1-5-pruned-emaonly.safetensors"

    /// The node whose /queue shows the prompt running, if any.
    static func runningNode(_ id: String, in fleet: TestFleet, among names: [String]) async -> String? {
        for name in names {
            let running = (try? await fleet.direct(name).get("/queue").json?["queue_running"]?.arrayValue) ?? []
            if running.contains(where: { $0[1]?.stringValue == id }) { return name }
        }
        return nil
    }

    /// How many times the client heard the prompt end (`executing` with node null), and its successes.
    static func completions(_ id: String, _ socket: TestWebSocket) -> (ends: Int, successes: Int) {
        let messages = socket.messages.filter { $0["data"]?["prompt_id"]?.stringValue == id }
        let ends = messages.filter { $0["type"] == "executing" && $0["data"]?["node"] == .null }.count
        let successes = messages.filter { $0["type"] == "execution_success" }.count
        return (ends, successes)
    }

    /// Executions of a prompt across the nodes (each node's own history; a restarted node forgot its own).
    static func executions(_ id: String, in fleet: TestFleet, among names: [String]) async -> Int {
        var count = 0
        for name in names where (try? await fleet.direct(name).get("/history/\(id)").json?[id]) != nil { count += 1 }
        return count
    }

    @Test("a node killed mid-job: the job runs elsewhere and its client hears one completion")
    func nodeKilledMidJob() async throws {
        let names = ["a", "b"]
        let specs = names.map { TestNodeSpec(.test($0, checkpoints: [Self.model]), maxOutstanding: 1) }
        try await withFleet(specs) { fleet in
            try await withWebSocket(port: fleet.conductor.port, clientID: "chaos") { socket in
                for name in names { await fleet.node(name).inject(.hang(true)) }
                let id = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model), "client_id": "chaos"])
                var victim: String?
                try await eventually("the job running") {
                    victim = await Self.runningNode(id, in: fleet, among: names)
                    return victim != nil
                }
                let killed = try #require(victim)
                let survivor = names.first { $0 != killed }!
                await fleet.node(survivor).inject(.hang(false))
                await fleet.node(killed).inject(.crashAndRestart(downSeconds: 2))
                let entry = try await fleet.conductor.waitForHistory(id, timeout: 15)
                #expect(entry["status"]?["status_str"] == "success")
                #expect(try await fleet.nodeThatRan(id) == survivor)
                try await socket.waitForEnd(of: id)
                try await Task.sleep(for: .milliseconds(300))
                let heard = Self.completions(id, socket)
                #expect(heard.ends == 1 && heard.successes == 1, "the client heard \(heard)")
                #expect(try await fleet.conductor.get("/queue").json == ["queue_running": [], "queue_pending": []])
            }
        }
    }

    @Test("a node restarted without its queue: jobs it forgot are found and run, each once")
    func nodeForgetsItsQueue() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]), maxOutstanding: 2)]) { fleet in
            try await withWebSocket(port: fleet.conductor.port, clientID: "chaos") { socket in
                await fleet.node("a").inject(.hang(true))
                var ids: [String] = []
                for seed in 1...2 {
                    ids.append(try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: seed), "client_id": "chaos"]))
                }
                try await eventually("both on the node, one running") {
                    let queue = try await fleet.direct("a").get("/queue").json
                    return queue?["queue_running"]?.arrayValue?.count == 1 && queue?["queue_pending"]?.arrayValue?.count == 1
                }
                await fleet.node("a").inject(.crashAndRestart(downSeconds: 0.3))
                for id in ids {
                    #expect(try await fleet.conductor.waitForHistory(id, timeout: 15)["status"]?["status_str"] == "success")
                    try await socket.waitForEnd(of: id)
                }
                try await Task.sleep(for: .milliseconds(300))
                for id in ids {
                    let heard = Self.completions(id, socket)
                    #expect(heard.ends == 1 && heard.successes == 1, "\(id): the client heard \(heard)")
                }
            }
        }
    }

    @Test("a job that kills every node it runs on is quarantined after 3, with an error, not retried forever")
    func poisonJob() async throws {
        let names = ["a", "b", "c", "d"]
        let specs = names.map { TestNodeSpec(.test($0, checkpoints: [Self.model]), maxOutstanding: 1) }
        try await withFleet(specs) { fleet in
            for name in names { await fleet.node(name).inject(.hang(true)) }
            let id = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model), "client_id": "poison"])
            var kills: [String] = []
            while kills.count < 3 {
                var victim: String?
                try await eventually(timeout: 15, "the poison job running again") {
                    victim = await Self.runningNode(id, in: fleet, among: names.filter { !kills.contains($0) })
                    return victim != nil
                }
                let node = try #require(victim)
                kills.append(node)
                await fleet.node(node).inject(.crashAndRestart(downSeconds: 30))
            }
            let entry = try await fleet.conductor.waitForHistory(id, timeout: 15)
            #expect(entry["status"]?["status_str"] == "error")
            let error = entry["status"]?["messages"]?.arrayValue?.first { $0[0] == "execution_error" }?[1]
            #expect(error?["exception_type"] == "job_quarantined")
            #expect(Set(kills).count == 3)
            // The fourth node never ran it.
            let untouched = names.first { !kills.contains($0) }!
            #expect(try await fleet.direct(untouched).get("/history").json == [:])
            await fleet.node(untouched).inject(.hang(false))
        }
    }

    @Test("a job running far past its prediction is interrupted and run on another node, once")
    func runTimeLimit() async throws {
        let names = ["a", "b"]
        let specs = names.map { TestNodeSpec(.test($0, checkpoints: [Self.model]), maxOutstanding: 1) }
        try await withFleet(specs, configure: {
            $0.limits.runTimeFloorSeconds = 0.5
            $0.limits.runTimeMultiple = 1
        }) { fleet in
            try await withWebSocket(port: fleet.conductor.port, clientID: "slow") { socket in
                for name in names { await fleet.node(name).inject(.hang(true)) }
                let id = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model), "client_id": "slow"])
                var stuck: String?
                try await eventually("the job running") {
                    stuck = await Self.runningNode(id, in: fleet, among: names)
                    return stuck != nil
                }
                let other = names.first { $0 != stuck }!
                await fleet.node(other).inject(.hang(false))
                let entry = try await fleet.conductor.waitForHistory(id, timeout: 15)
                #expect(entry["status"]?["status_str"] == "success")
                #expect(try await fleet.nodeThatRan(id) == other)
                // The stuck node was told to stop it.
                try await eventually("the stuck node interrupted it") {
                    (try await fleet.direct(stuck!).get("/queue").json?["queue_running"]?.arrayValue ?? []).isEmpty
                }
                try await socket.waitForEnd(of: id)
                try await Task.sleep(for: .milliseconds(300))
                let heard = Self.completions(id, socket)
                #expect(heard.ends == 1 && heard.successes == 1, "the client heard \(heard)")
                await fleet.node(stuck!).inject(.hang(false))
            }
        }
    }
}

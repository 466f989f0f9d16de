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

    @Test("a job that runs out of VRAM moves to a node with more, unheard by its client; its checkpoint then goes there first")
    func outOfMemoryTeachesTheCheckpointsNeed() async throws {
        let large = "sdxl-large-10gb.safetensors"
        // The small node is faster, so the scheduler tries it first; the checkpoint does not fit its 8 GiB.
        var small = NodeProfile.test("small", checkpoints: [], speed: 4)
        small.vramTotalBytes = 8 << 30
        small.checkpoints = [NodeProfile.ModelFile(name: large, sizeBytes: 10_000_000_000)]
        var big = NodeProfile.test("big", checkpoints: [], speed: 1)
        big.vramTotalBytes = 24 << 30
        big.checkpoints = [NodeProfile.ModelFile(name: large, sizeBytes: 10_000_000_000)]
        // Two Conductors in turn over the same nodes and data (a restart): one at a time, as an operator runs them.
        try await withNodes([TestNodeSpec(small), TestNodeSpec(big)]) { nodes, config in
            try await withConductor(config) { coordinator, port in
                try await waitUntilReady(coordinator, nodeCount: 2)
                let conductor = TestClient(port: port)
                try await withWebSocket(port: port, clientID: "oom") { socket in
                    let first = try await conductor.submit(["prompt": TestFleet.prompt(checkpoint: large), "client_id": "oom"])
                    let entry = try await conductor.waitForHistory(first, timeout: 15)
                    #expect(entry["status"]?["status_str"] == "success")
                    #expect(Self.ranOn(entry) == "big")
                    #expect(await nodes["small"]!.node.executionCount == 1, "it was tried on the small node first")
                    try await socket.waitForEnd(of: first)
                    // Everything relayed for the job came before the queue's final length, broadcast after its end.
                    try await socket.waitFor("the status after the end") { frames in
                        let idle = frames.lastIndex { $0.message?["data"]?["status"]?["exec_info"]?["queue_remaining"]?.intValue == 0 }
                        guard let idle, let end = frames.lastIndex(where: { $0.token == "executing:null" }) else { return false }
                        return idle > end
                    }
                    let heard = Self.completions(first, socket)
                    #expect(heard.ends == 1 && heard.successes == 1, "the client heard \(heard)")
                    #expect(!socket.messages.contains { $0["type"] == "execution_error" }, "the out-of-memory error was not relayed")
                }
                // The next job with that checkpoint is not sent to the small node again.
                let second = try await conductor.submit(["prompt": TestFleet.prompt(checkpoint: large, seed: 2), "client_id": "oom"])
                #expect(Self.ranOn(try await conductor.waitForHistory(second)) == "big")
                #expect(await nodes["small"]!.node.executionCount == 1)
                let placement = try #require(try await conductor.get("/conductor/api/jobs/\(second)").json?["placement"])
                let reasons = placement["candidates"]?.arrayValue?.compactMap { $0["reason"]?.stringValue } ?? []
                #expect(reasons.contains { $0.hasPrefix("not enough VRAM") }, "\(reasons)")
                // The big node drained, kept across the restart.
                #expect(try await conductor.post("/conductor/api/nodes/big/drain", [:]).status == 200)
            }
            // A restarted Conductor still knows: the third job waits for the big node instead of trying the small one,
            // and runs once it is back.
            let third = try await withConductor(config) { coordinator, port in
                try await waitUntilReady(coordinator, nodeCount: 2)
                let client = TestClient(port: port)
                func rounds() -> Int {
                    let text = String(decoding: coordinator.metrics.exposition(), as: UTF8.self)
                    return text.split(separator: "\n").first { $0.hasPrefix("conductor_dispatch_decision_seconds_count ") }
                        .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
                }
                let before = rounds()
                let id = try await client.submit(["prompt": TestFleet.prompt(checkpoint: large, seed: 3), "client_id": "oom"])
                // A dispatch round has looked at the job (the small node had room) and left it waiting.
                try await eventually("a dispatch round after the submit") { rounds() > before }
                let tried = await nodes["small"]!.node.executionCount
                _ = try await client.post("/conductor/api/nodes/big/undrain", [:])
                return (tried, try await client.waitForHistory(id, timeout: 15))
            }
            #expect(third.0 == 1, "the restarted Conductor did not try the small node")
            #expect(third.1["status"]?["status_str"] == "success")
        }
    }

    /// The node that ran a finished prompt, from its first output's subfolder.
    static func ranOn(_ entry: JSONValue) -> String? {
        entry["outputs"]?.objectValue?.values.first?["images"]?[0]?["subfolder"]?.stringValue?.split(separator: "/").first.map(String.init)
    }

    @Test("a job that runs out of VRAM on the largest node fails as on ComfyUI, and teaches nothing")
    func outOfMemoryOnTheLargestNodeStands() async throws {
        let huge = "too-large-40gb.safetensors"
        var only = NodeProfile.test("only", checkpoints: [])
        only.checkpoints = [NodeProfile.ModelFile(name: huge, sizeBytes: 40_000_000_000)]
        try await withFleet([TestNodeSpec(only)]) { fleet in
            let id = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: huge), "client_id": "oom"])
            let entry = try await fleet.conductor.waitForHistory(id, timeout: 15)
            #expect(entry["status"]?["status_str"] == "error")
            let error = entry["status"]?["messages"]?.arrayValue?.last { $0[0] == "execution_error" }
            #expect(error?[1]?["exception_type"]?.stringValue?.hasSuffix("OutOfMemoryError") == true)
        }
    }

    @Test("a node restarted without its queue: jobs it forgot are found and run, each once")
    func nodeForgetsItsQueue() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]), maxOutstanding: 2)]) { fleet in
            try await withWebSocket(port: fleet.conductor.port, clientID: "chaos") { socket in
                await fleet.node("a").inject(.hang(true))
                var ids: [String] = []
                for seed in 1...2 {
                    ids.append(
                        try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: seed), "client_id": "chaos"]))
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
        try await withFleet(
            specs,
            configure: {
                // Past 5 s a run is too long: the stuck one is, and the re-run (a few milliseconds) is not, however busy the machine.
                $0.limits.runTimeFloorSeconds = 5
                $0.limits.runTimeMultiple = 1
            }
        ) { fleet in
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
                let entry = try await fleet.conductor.waitForHistory(id, timeout: 25)
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

    static func ejectAfterTwo(_ config: inout ClusterConfig) {
        config.limits.ejectAfterFailures = 2
        config.limits.ejectBaseSeconds = 12  // long enough that the other job runs before it ends, under a loaded CI too
        config.limits.maxNodeFailures = 10
    }

    @Test("a node that keeps losing jobs is ejected for a while: work goes elsewhere, then it comes back")
    func outlierEjection() async throws {
        let onlyA = "only-on-a.safetensors"
        let specs = [
            TestNodeSpec(.test("a", checkpoints: [Self.model, onlyA], speed: 10)),
            TestNodeSpec(.test("b", checkpoints: [Self.model])), TestNodeSpec(.test("c", checkpoints: [Self.model]))
        ]
        try await withFleet(specs, configure: Self.ejectAfterTwo) { fleet in
            let stuck = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: onlyA), "client_id": "eject"])
            for _ in 1...2 {
                await fleet.node("a").inject(.hang(true))
                try await eventually("the job running on a") { await Self.runningNode(stuck, in: fleet, among: ["a"]) == "a" }
                await fleet.node("a").inject(.crashAndRestart(downSeconds: 0.3))
                try await eventually("a down") { await fleet.coordinator.nodeHealth()["a"] == .down }
                try await eventually("a back up") { await fleet.coordinator.nodeHealth()["a"] == .up }
            }
            // Ejected: a job any node can run goes to b or c although a is ten times faster and idle.
            let other = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: 9), "client_id": "eject"])
            let ranOn = try await fleet.nodeThatRan(other)
            #expect(ranOn == "b" || ranOn == "c", "ran on \(ranOn ?? "?")")
            // Meanwhile the job only a can run waits in the fleet queue instead of going back to a.
            #expect(try await fleet.conductor.get("/history/\(stuck)").json == [:])
            #expect(await Self.runningNode(stuck, in: fleet, among: ["a"]) == nil)
            // Once the ejection ends, a takes work again and the job only a can run completes.
            #expect(try await fleet.conductor.waitForHistory(stuck, timeout: 40)["status"]?["status_str"] == "success")
            #expect(try await fleet.nodeThatRan(stuck) == "a")
        }
    }

    static func retryOneAtATime(_ config: inout ClusterConfig) {
        config.limits.minRetryConcurrency = 1
        config.limits.retryBudgetFraction = 0
    }

    @Test("the retry budget: jobs lost with their nodes go back one at a time (budget 1), none lost, each run once more")
    func retryBudget() async throws {
        let doomed = ["a1", "a2", "a3"]
        let specs =
            doomed.map { TestNodeSpec(.test($0, checkpoints: [Self.model]), maxOutstanding: 1) }
            + [TestNodeSpec(.test("b", checkpoints: [Self.model]), maxOutstanding: 3)]
        try await withFleet(specs, configure: Self.retryOneAtATime) { fleet in
            for name in doomed + ["b"] { await fleet.node(name).inject(.hang(true)) }
            #expect(try await fleet.conductor.post("/conductor/api/nodes/b/drain", [:]).status == 200)
            var ids: [String] = []
            for seed in 1...3 {
                ids.append(try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.model, seed: seed), "client_id": "storm"]))
            }
            for id in ids {
                try await eventually("\(id) running") { await Self.runningNode(id, in: fleet, among: doomed) != nil }
            }
            #expect(try await fleet.conductor.post("/conductor/api/nodes/b/undrain", [:]).status == 200)
            for name in doomed { await fleet.node(name).inject(.crashAndRestart(downSeconds: 60)) }
            func onB() async throws -> [JSONValue] {
                try await fleet.conductor.get("/conductor/api/jobs").json?["queue"]?.arrayValue?.filter { $0["node"] == "b" } ?? []
            }
            try await eventually("a retry on b") { try await onB().count == 1 }
            // Each node's death is noticed on its own (polls, with hysteresis): wait until all three jobs are back.
            try await eventually("the other two back in the queue, each lost with its node once") {
                let jobs = try await fleet.conductor.get("/conductor/api/jobs").json
                return jobs?["counts"]?["queued"] == 2 && jobs?["queue"]?.arrayValue?.allSatisfy { $0["lost_with_nodes"] == 1 } == true
            }
            try await Task.sleep(for: .milliseconds(500))
            let jobs = try #require(try await fleet.conductor.get("/conductor/api/jobs").json)
            #expect(try await onB().count == 1, "b has room for three, but the budget lets one retry out at a time")
            #expect(jobs["counts"]?["queued"] == 2)
            await fleet.node("b").inject(.hang(false))
            for id in ids {
                #expect(try await fleet.conductor.waitForHistory(id, timeout: 15)["status"]?["status_str"] == "success")
                #expect(try await fleet.nodeThatRan(id) == "b")
            }
            #expect(await fleet.node("b").executionCount == 3)
            #expect(try await fleet.conductor.get("/history").json?.objectValue?.count == 3)
        }
    }

    /// Whether a task has finished, without waiting for it.
    static func finished<T: Sendable>(_ task: Task<T, any Error>) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = try? await task.value
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(5))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// The longer run the closing note reports (not in CI): `CONDUCTOR_LONG_CHAOS=<jobs> swift test --filter longRun`.
    @Test("long run: many jobs, nodes killed at random, none lost", .enabled(if: ProcessInfo.processInfo.environment["CONDUCTOR_LONG_CHAOS"] != nil))
    func longRun() async throws {
        let jobCount = Int(ProcessInfo.processInfo.environment["CONDUCTOR_LONG_CHAOS"] ?? "") ?? 300
        let names = ["a", "b", "c", "d"]
        let specs = names.map { TestNodeSpec(.test($0, checkpoints: [Self.model], timeScale: 0.02), maxOutstanding: 2) }
        // CONDUCTOR_LONG_CHAOS_POLL sets Conductor's poll interval (cluster.json's default is 1 s; tests poll at 0.05 s).
        let poll = Double(ProcessInfo.processInfo.environment["CONDUCTOR_LONG_CHAOS_POLL"] ?? "") ?? 0.05
        // CONDUCTOR_LONG_CHAOS_STEPS lengthens the jobs (100 steps ≈ 30 ms here), so kills find jobs running.
        let steps = Int(ProcessInfo.processInfo.environment["CONDUCTOR_LONG_CHAOS_STEPS"] ?? "") ?? 100
        try await withFleet(specs, pollInterval: poll) { fleet in
            try await withWebSocket(port: fleet.conductor.port, clientID: "long") { socket in
                // Submitting runs beside the killing, so nodes die while the queue is still filling.
                let submitter = Task {
                    var ids: [String] = []
                    for seed in 0..<jobCount {
                        ids.append(
                            try await fleet.conductor.submit([
                                "prompt": TestFleet.prompt(checkpoint: Self.model, seed: seed, steps: steps), "client_id": "long"
                            ]))
                    }
                    return ids
                }
                var random = SplitMix64(seed: 7)
                var kills = 0
                var redispatch: [Double] = []
                while true {
                    let pending = try await fleet.conductor.get("/prompt").json?["exec_info"]?["queue_remaining"]?.intValue ?? 0
                    if pending == 0, await Self.finished(submitter) { break }
                    try await Task.sleep(for: .milliseconds(300 + Int(random.next() % 700)))
                    // Kill a node that is running a job, and time until that job is on another node.
                    var busy: [(node: String, prompt: String)] = []
                    for name in names {
                        if let id = try? await fleet.direct(name).get("/queue").json?["queue_running"]?[0]?[1]?.stringValue {
                            busy.append((name, id))
                        }
                    }
                    guard !busy.isEmpty else { continue }
                    let (victim, running) = busy[Int(random.next() % UInt64(busy.count))]
                    let killedAt = ContinuousClock.now
                    await fleet.node(victim).inject(.crashAndRestart(downSeconds: 1))
                    kills += 1
                    // Re-dispatched: Conductor no longer counts the job on the dead node (it is back in the fleet queue,
                    // on another node, or finished). How long it then waits for a free node is queueing, not failover.
                    var seen = false
                    while !seen, ContinuousClock.now - killedAt < .seconds(60) {
                        let job = try? await fleet.conductor.get("/conductor/api/jobs/\(running)").json
                        if let job, job["status"] != nil || job["node"]?.stringValue != victim || job["state"] == "queued" { seen = true }
                        if !seen { try await Task.sleep(for: .milliseconds(20)) }
                    }
                    let elapsed = ContinuousClock.now - killedAt
                    redispatch.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                }
                let ids = try await submitter.value
                try await Task.sleep(for: .milliseconds(500))
                var lost = 0, failed = 0, duplicates = 0, doubleEnds = 0
                let messages = socket.messages
                for id in ids {
                    guard let entry = try await fleet.conductor.get("/history/\(id)").json?[id] else {
                        lost += 1
                        continue
                    }
                    if entry["status"]?["status_str"] != "success" { failed += 1 }
                    let mine = messages.filter { $0["data"]?["prompt_id"]?.stringValue == id }
                    let starts = mine.filter { $0["type"] == "execution_start" }.count
                    if starts > 1 { duplicates += starts - 1 }
                    if mine.filter({ $0["type"] == "executing" && $0["data"]?["node"] == .null }).count != 1 { doubleEnds += 1 }
                }
                let sorted = redispatch.sorted()
                let p99 = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
                let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
                print(
                    "LONG CHAOS (poll \(poll) s, \(steps) steps): jobs \(jobCount), nodes killed \(kills), lost \(lost), failed \(failed), re-executions \(duplicates), jobs not heard ending exactly once \(doubleEnds), kill→re-dispatch median \(median) s p99 \(p99) s"
                )
                #expect(lost == 0)
                #expect(failed == 0)
                #expect(doubleEnds == 0)
                #expect(duplicates <= kills)
            }
        }
    }
}

import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import NIOHTTP1
import SimulatedNode
import Testing

/// Conductor in front of three or more simulated nodes, over real sockets: where prompts go.
@Suite("Routing prompts across the fleet")
struct RoutingTests {
    static let sdxl = "sdxl-动漫二次元_2.0.safetensors"
    static let sd15 = "v1-5-pruned-emaonly.safetensors"
    static let rare = "only-on-b.safetensors"

    @Test("a checkpoint only node B has goes to B")
    func rareCheckpointGoesToItsNode() async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: [Self.sd15], speed: 4)),
            TestNodeSpec(.test("b", checkpoints: [Self.sd15, Self.rare], speed: 0.5)),
            TestNodeSpec(.test("c", checkpoints: [Self.sd15], speed: 4))
        ]
        try await withFleet(specs) { fleet in
            for seed in 1...3 {
                let id = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.rare, seed: seed), "client_id": "x"])
                #expect(try await fleet.nodeThatRan(id) == "b")
            }
        }
    }

    @Test("a model no node has is refused with ComfyUI's 400 naming the input")
    func unknownModelIsRefused() async throws {
        try await withFleet([
            TestNodeSpec(.test("a", checkpoints: [Self.sd15])), TestNodeSpec(.test("b", checkpoints: [Self.sdxl])),
            TestNodeSpec(.test("c", checkpoints: [Self.sd15]))
        ]) { fleet in
            let answer = try await fleet.conductor.post("/prompt", ["prompt": TestFleet.prompt(checkpoint: "nowhere.safetensors")])
            #expect(answer.status == 400)
            let json = try #require(answer.json)
            #expect(json["error"]?["type"] == "prompt_outputs_failed_validation")
            #expect(json["node_errors"]?["4"]?["errors"]?[0]?["type"] == "value_not_in_list")
            #expect(json["node_errors"]?["4"]?["errors"]?[0]?["extra_info"]?["input_name"] == "ckpt_name")

            var unknownClass = try #require(TestFleet.prompt(checkpoint: Self.sd15).objectValue)
            unknownClass["10"] = ["class_type": "NoSuchNodeType", "inputs": [:]]
            let refused = try await fleet.conductor.post("/prompt", ["prompt": .object(unknownClass)])
            #expect(refused.status == 400)
            #expect(refused.json?["error"]?["type"] == "invalid_prompt")
            #expect(refused.json?["error"]?["message"] == "Cannot execute because node NoSuchNodeType does not exist.")
            #expect(try await fleet.conductor.get("/queue").json?["queue_pending"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test("a repeat checkpoint stays on the node that holds it, and moves when that node is saturated")
    func affinityWithReleaseValve() async throws {
        let specs = ["a", "b", "c"].map { TestNodeSpec(.test($0, checkpoints: [Self.sd15, Self.sdxl]), maxOutstanding: 1) }
        try await withFleet(specs) { fleet in
            let first = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.sdxl, seed: 1), "client_id": "x"])
            let holder = try #require(try await fleet.nodeThatRan(first))
            for seed in 2...4 {
                let id = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.sdxl, seed: seed), "client_id": "x"])
                #expect(try await fleet.nodeThatRan(id) == holder, "job \(seed) left the node holding its checkpoint")
            }
            // Saturate the holder: the next job goes elsewhere rather than waiting behind it.
            await fleet.node(holder).inject(.hang(true))
            let blocker = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.sdxl, seed: 10), "client_id": "x"])
            try await eventually("blocker running on \(holder)") {
                try await fleet.direct(holder).get("/queue").json?["queue_running"]?[0]?[1]?.stringValue == blocker
            }
            let moved = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.sdxl, seed: 11), "client_id": "x"])
            let other = try #require(try await fleet.nodeThatRan(moved))
            #expect(other != holder)
            await fleet.node(holder).inject(.hang(false))
            #expect(try await fleet.nodeThatRan(blocker) == holder)
        }
    }

    @Test("fair shares: a client's one job does not wait behind another client's ten; front still jumps")
    func fairShares() async throws {
        // Jobs of about 50 ms, so their start times on the node (ms) tell their order.
        let specs = [TestNodeSpec(.test("a", checkpoints: [Self.sd15], timeScale: 0.005), maxOutstanding: 1)]
        try await withFleet(specs) { fleet in
            func prompt(_ seed: Int) -> JSONValue { TestFleet.prompt(checkpoint: Self.sd15, seed: seed, steps: 10, size: 512) }
            await fleet.node("a").inject(.hang(true))
            var flood: [String] = []
            for seed in 1...10 { flood.append(try await fleet.conductor.submit(["prompt": prompt(seed), "client_id": "flood"])) }
            try await eventually("the flood's first job running") {
                try await fleet.direct("a").get("/queue").json?["queue_running"]?[0]?[1]?.stringValue == flood[0]
            }
            let lone = try await fleet.conductor.submit(["prompt": prompt(50), "client_id": "lone"])
            let urgent = try await fleet.conductor.submit(["prompt": prompt(51), "client_id": "flood", "front": true])
            await fleet.node("a").inject(.hang(false))
            func started(_ id: String) async throws -> Int64 {
                let entry = try await fleet.conductor.waitForHistory(id, timeout: 20)
                return try #require(entry["status"]?["messages"]?[0]?[1]?["timestamp"]?.numberValue?.int64)
            }
            var floodStarts: [Int64] = []
            for id in flood { floodStarts.append(try await started(id)) }
            let loneStart = try await started(lone)
            let urgentStart = try await started(urgent)
            #expect(urgentStart < loneStart, "front goes first")
            #expect(
                floodStarts.dropFirst().allSatisfy { $0 > loneStart },
                "the lone job started right after the flood's running one (FIFO: after all ten)")
            #expect(floodStarts == floodStarts.sorted(), "a client's own jobs keep their order")
        }
    }

    @Test("an API key's weight is its share: weight 3 gets more of its jobs through than weight 1 while both queue")
    func weightedShares() async throws {
        let heavyKey = "heavy-key-0123456789abcdef"
        let lightKey = "light-key-0123456789abcdef"
        let specs = [TestNodeSpec(.test("a", checkpoints: [Self.sd15], timeScale: 0.005), maxOutstanding: 1)]
        try await withFleet(
            specs,
            configure: { config in
                config.auth.keys = [
                    .init(name: "heavy", key: heavyKey, role: .admin, weight: 3), .init(name: "light", key: lightKey, role: .user)
                ]
            }
        ) { fleet in
            func submit(_ seed: Int, key: String) async throws -> String {
                let prompt = TestFleet.prompt(checkpoint: Self.sd15, seed: seed, steps: 10, size: 512)
                let answer = try await fleet.conductor.request(
                    .POST, "/prompt", json: ["prompt": prompt], headers: [("Authorization", "Bearer \(key)")])
                return try #require(answer.json?["prompt_id"]?.stringValue)
            }
            await fleet.node("a").inject(.hang(true))
            let first = try await submit(1, key: heavyKey)
            try await eventually("the first job running") {
                try await fleet.direct("a").get("/queue").json?["queue_running"]?[0]?[1]?.stringValue == first
            }
            var heavy: Set<String> = []
            var all: [String] = []
            for seed in 2...9 {
                let h = try await submit(seed, key: heavyKey)
                heavy.insert(h)
                all += [h, try await submit(seed + 100, key: lightKey)]
            }
            await fleet.node("a").inject(.hang(false))
            var starts: [(String, Int64)] = []
            for id in all {
                try await eventually(timeout: 20, "\(id) in the node's history") {
                    try await fleet.direct("a").get("/history/\(id)").json?[id] != nil
                }
                let entry = try #require(try await fleet.direct("a").get("/history/\(id)").json?[id])
                starts.append((id, try #require(entry["status"]?["messages"]?[0]?[1]?["timestamp"]?.numberValue?.int64)))
            }
            let firstEight = starts.sorted { $0.1 < $1.1 }.prefix(8)
            // Stamps 1/3, 2/3, 1 … for the heavy key against 0, 1, 2 … for the light one: 5 of the first 8 are
            // heavy (4 with equal weights).
            #expect(firstEight.count { heavy.contains($0.0) } == 5)
        }
    }

    @Test("a faster idle node gets work before a slow one")
    func fasterNodeFirst() async throws {
        let specs = [
            TestNodeSpec(.test("slow", checkpoints: [Self.sd15], speed: 0.25)),
            TestNodeSpec(.test("fast", checkpoints: [Self.sd15], speed: 4)),
            TestNodeSpec(.test("mid", checkpoints: [Self.sd15], speed: 1))
        ]
        try await withFleet(specs) { fleet in
            let id = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.sd15), "client_id": "x"])
            #expect(try await fleet.nodeThatRan(id) == "fast")
        }
    }

    @Test("deleting a waiting job removes it from the fleet queue and it never runs")
    func deleteWaitingJob() async throws {
        let specs = ["a", "b", "c"].map { TestNodeSpec(.test($0, checkpoints: [Self.sd15]), maxOutstanding: 1) }
        try await withFleet(specs) { fleet in
            for name in ["a", "b", "c"] { await fleet.node(name).inject(.hang(true)) }
            for seed in 1...3 {
                _ = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.sd15, seed: seed), "client_id": "x"])
            }
            // Every node holds one, so the next job can only wait in Conductor's queue.
            try await eventually("one job on every node") {
                var held = 0
                for name in ["a", "b", "c"] { held += try await fleet.direct(name).get("/queue").json?["queue_running"]?.arrayValue?.count ?? 0 }
                return held == 3
            }
            let doomed = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.sd15, seed: 99), "client_id": "x"])
            #expect(try await fleet.conductor.get("/prompt").json?["exec_info"]?["queue_remaining"] == 4)
            let answer = try await fleet.conductor.post("/queue", ["delete": [.string(doomed)]])
            #expect(answer.status == 200)
            let pending = try await fleet.conductor.get("/queue").json?["queue_pending"]?.arrayValue?.compactMap { $0[1]?.stringValue } ?? []
            #expect(!pending.contains(doomed))
            #expect(try await fleet.conductor.get("/prompt").json?["exec_info"]?["queue_remaining"] == 3)
            for name in ["a", "b", "c"] { await fleet.node(name).inject(.hang(false)) }
            try await eventually("queue drained") { await fleet.coordinator.queueRemaining == 0 }
            #expect(try await fleet.conductor.get("/history/\(doomed)").json == [:])
            for name in ["a", "b", "c"] {
                #expect(try await fleet.direct(name).get("/history/\(doomed)").json == [:], "ran on \(name)")
            }
        }
    }
}

@Suite("Validation against the fleet")
struct FleetValidationTests {
    @Test("a prompt whose parts exist on different nodes but on no single node is refused")
    func noSingleNodeCanRunIt() async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: ["a.safetensors"])), TestNodeSpec(.test("b", checkpoints: ["b.safetensors"])),
            TestNodeSpec(.test("c", checkpoints: ["c.safetensors"]))
        ]
        try await withFleet(specs) { fleet in
            var prompt = try #require(TestFleet.prompt(checkpoint: "a.safetensors").objectValue)
            prompt["20"] = ["class_type": "CheckpointLoaderSimple", "inputs": ["ckpt_name": "b.safetensors"]]
            prompt["21"] = ["class_type": "CLIPTextEncode", "inputs": ["text": "x", "clip": ["20", 1]]]
            prompt["3"] = [
                "class_type": "KSampler",
                "inputs": [
                    "seed": 1, "steps": 2, "cfg": 8, "sampler_name": "euler", "scheduler": "normal", "denoise": 1,
                    "model": ["4", 0], "positive": ["21", 0], "negative": ["7", 0], "latent_image": ["5", 0]
                ]
            ]
            let answer = try await fleet.conductor.post("/prompt", ["prompt": .object(prompt)])
            #expect(answer.status == 400)
            #expect(answer.json?["error"]?["type"] == "prompt_outputs_failed_validation")
            #expect(answer.json?["error"]?["details"]?.stringValue?.contains("No node of the fleet can run this prompt") == true)
            #expect(await fleet.coordinator.queueRemaining == 0)
        }
    }
}

import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// What a client of Conductor sees: its own events, merged history, files from the right node.
@Suite("A client's view of the fleet")
struct ClientViewTests {
    static let sd15 = "v1-5-pruned-emaonly.safetensors"

    @Test("a job's events on node C reach its client with its prompt_id, and nothing of another client's job")
    func eventsReachTheirClient() async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: ["a-only.safetensors"], timeScale: 0.002)),
            TestNodeSpec(.test("b", checkpoints: ["b-only.safetensors"], timeScale: 0.002)),
            TestNodeSpec(.test("c", checkpoints: ["c-only.safetensors"], timeScale: 0.002))
        ]
        try await withFleet(specs) { fleet in
            let port = fleet.conductor.port
            try await withWebSocket(port: port, clientID: "alice") { alice in
                try await withWebSocket(port: port, clientID: "bob", featureFlags: ["supports_preview_metadata": true]) { bob in
                    alice.clear()
                    bob.clear()
                    let mine = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: "c-only.safetensors"), "client_id": "alice"])
                    let theirs = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: "a-only.safetensors"), "client_id": "bob"])
                    try await alice.waitForEnd(of: mine)
                    try await bob.waitForEnd(of: theirs)
                    Self.expectOnlyOwnEvents(alice, own: mine, other: theirs)
                    Self.expectOnlyOwnEvents(bob, own: theirs, other: mine)
                    let executed = try #require(alice.messages.first { $0["type"] == "executed" })
                    #expect(executed["data"]?["output"]?["images"]?[0]?["subfolder"] == "c")
                    // Previews: bob negotiated metadata (type 4), alice did not (type 1).
                    #expect(alice.tokens.contains("binary:1") && !alice.tokens.contains("binary:4"))
                    #expect(bob.tokens.contains("binary:4") && !bob.tokens.contains("binary:1"))
                    for frame in bob.received {
                        if case .binary(let bytes) = frame, case .previewImageWithMetadata(let metadata, _)? = try? BinaryFrame(bytes: bytes) {
                            #expect(metadata["prompt_id"]?.stringValue == theirs)
                        }
                    }
                    Self.expectStatusBroadcasts(alice)
                }
            }
        }
    }

    /// Every `status` a client got carries the fleet's queue_remaining.
    static func expectStatusBroadcasts(_ socket: TestWebSocket) {
        var counts: [Int] = []
        for message in socket.messages where message["type"]?.stringValue == "status" {
            counts.append(message["data"]?["status"]?["exec_info"]?["queue_remaining"]?.intValue ?? -1)
        }
        #expect(!counts.isEmpty && !counts.contains(-1), "status queue_remaining values: \(counts)")
    }

    static func expectOnlyOwnEvents(_ socket: TestWebSocket, own: String, other: String) {
        let ids = Set(socket.messages.compactMap { $0["data"]?["prompt_id"]?.stringValue })
        #expect(ids == [own], "\(socket.clientID) saw \(ids)")
        #expect(!socket.messages.contains { $0["data"]?["prompt_id"]?.stringValue == other })
        let types = socket.messages.map { $0["type"]?.stringValue ?? "" }
        for expected in ["execution_start", "execution_cached", "executing", "progress", "progress_state", "executed", "execution_success"] {
            #expect(types.contains(expected), "\(socket.clientID) missed \(expected)")
        }
        let tokens = socket.tokens
        #expect(tokens.contains("executing:null"))
        // executing null comes after execution_success, so history is there when the client hears it.
        if let success = tokens.lastIndex(of: "execution_success"), let end = tokens.lastIndex(of: "executing:null") {
            #expect(success < end)
        }
    }

    @Test("two nodes' identically named outputs come back as different files with the right bytes")
    func collidingOutputNames() async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: ["a.safetensors"])), TestNodeSpec(.test("b", checkpoints: ["b.safetensors"])),
            TestNodeSpec(.test("c", checkpoints: ["c.safetensors"]))
        ]
        try await withFleet(specs) { fleet in
            let onA = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: "a.safetensors", seed: 111), "client_id": "x"])
            let onB = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: "b.safetensors", seed: 222), "client_id": "x"])
            var files: [String: [UInt8]] = [:]
            for (id, node) in [(onA, "a"), (onB, "b")] {
                let entry = try await fleet.conductor.waitForHistory(id)
                let image = try #require(entry["outputs"]?["9"]?["images"]?[0])
                #expect(image["filename"] == "ComfyUI_00001_.png")
                #expect(image["subfolder"]?.stringValue == node)
                let viaConductor = try await fleet.conductor.get("/view?filename=ComfyUI_00001_.png&subfolder=\(node)&type=output")
                #expect(viaConductor.status == 200)
                #expect(viaConductor.header("Content-Type") == "image/png")
                let onDisk = try Data(contentsOf: fleet.node(node).files.directory(.output).appendingPathComponent("ComfyUI_00001_.png"))
                #expect(viaConductor.body == Array(onDisk), "bytes from \(node)")
                files[node] = viaConductor.body
            }
            #expect(files["a"] != files["b"])
            #expect(try await fleet.conductor.get("/view?filename=ComfyUI_00001_.png&subfolder=nosuchnode&type=output").status == 404)
        }
    }

    @Test("history is merged across nodes, keeps the client's prompt, and survives a restart of Conductor")
    func historySurvivesRestart() async throws {
        try await withTemporaryDirectory { data in
            let specs = [
                TestNodeSpec(.test("a", checkpoints: ["a.safetensors"])), TestNodeSpec(.test("b", checkpoints: ["b.safetensors"])),
                TestNodeSpec(.test("c", checkpoints: ["c.safetensors"]))
            ]
            try await withFleet(specs, dataDirectory: data) { fleet in
                var ids: [String] = []
                for node in ["a", "b", "c"] {
                    let prompt = TestFleet.prompt(checkpoint: "\(node).safetensors", seed: 7)
                    ids.append(try await fleet.conductor.submit(["prompt": prompt, "client_id": "keeper", "extra_data": ["tag": .string(node)]]))
                }
                for id in ids { _ = try await fleet.conductor.waitForHistory(id) }
                let before = try #require(try await fleet.conductor.get("/history").json?.objectValue)
                #expect(Set(before.keys) == Set(ids))
                let first = try #require(before[ids[0]])
                #expect(first["prompt"]?[3]?["client_id"] == "keeper", "history shows the client's own client_id")
                #expect(first["prompt"]?[3]?["tag"] == "a")
                #expect(first["status"]?["status_str"] == "success")

                // A new Conductor on the same data directory answers the same history.
                let finished = ids
                try await withConductor(fleet.config) { _, port in
                    let again = try await TestClient(port: port).get("/history").json
                    #expect(again?.objectValue.map { Set($0.keys) } == Set(finished))
                    #expect(again?[finished[1]]?["outputs"] == before[finished[1]]?["outputs"])
                    let page = try await TestClient(port: port).get("/history?max_items=1").json?.objectValue
                    #expect(page?.count == 1)
                }
            }
        }
    }

    @Test("a targeted interrupt reaches the node running that prompt and only that prompt")
    func targetedInterrupt() async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: ["a.safetensors"])), TestNodeSpec(.test("b", checkpoints: ["b.safetensors"])),
            TestNodeSpec(.test("c", checkpoints: ["c.safetensors"]))
        ]
        try await withFleet(specs) { fleet in
            await fleet.node("a").inject(.hang(true))
            await fleet.node("b").inject(.hang(true))
            let victim = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: "b.safetensors"), "client_id": "x"])
            let bystander = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: "a.safetensors"), "client_id": "x"])
            try await eventually("both running") {
                let running = try await fleet.conductor.get("/queue").json?["queue_running"]?.arrayValue?.count
                return running == 2
            }
            #expect(try await fleet.conductor.post("/interrupt", ["prompt_id": .string(victim)]).status == 200)
            let entry = try await fleet.conductor.waitForHistory(victim)
            #expect(entry["status"]?["status_str"] == "error")
            #expect(entry["status"]?["messages"]?.arrayValue?.last?[0] == "execution_interrupted")
            #expect(try await fleet.conductor.get("/history/\(bystander)").json == [:], "the other job was not interrupted")
            await fleet.node("a").inject(.hang(false))
            let other = try await fleet.conductor.waitForHistory(bystander)
            #expect(other["status"]?["status_str"] == "success")
            await fleet.node("b").inject(.hang(false))
        }
    }

    @Test("discovery routes answer for the whole fleet")
    func discovery() async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: ["a.safetensors"])), TestNodeSpec(.test("b", checkpoints: ["b.safetensors"])),
            TestNodeSpec(.test("c", checkpoints: ["c.safetensors"]))
        ]
        try await withFleet(specs) { fleet in
            let models = try await fleet.conductor.get("/models/checkpoints").json?.arrayValue?.compactMap(\.stringValue)
            #expect(models == ["a.safetensors", "b.safetensors", "c.safetensors"])
            let combo = try await fleet.conductor.get("/api/object_info/CheckpointLoaderSimple").json?["CheckpointLoaderSimple"]?["input"]?[
                "required"]?["ckpt_name"]?[0]?.arrayValue
            #expect(Set(combo?.compactMap(\.stringValue) ?? []) == ["a.safetensors", "b.safetensors", "c.safetensors"])
            let stats = try #require(try await fleet.conductor.get("/system_stats").json)
            let devices = stats["devices"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(devices.count == 3 && devices[0].hasPrefix("a: ") && devices[2].hasPrefix("c: "))
            #expect(try await fleet.conductor.get("/models/nosuchfolder").status == 404)
            #expect(try await fleet.conductor.get("/features").json?["supports_preview_metadata"] == true)
            #expect(try await fleet.conductor.get("/api/jobs?limit=5").json?["pagination"] != nil)
            // Anything else is forwarded to a node (here a settings route the frontend calls at load).
            let settings = try await fleet.conductor.get("/api/settings")
            #expect(settings.status == 200, "\(settings.status) \(settings.text)")
        }
    }

    @Test("a prompt whose capable node is down is accepted and runs when the node comes back")
    func capableNodeDownWaits() async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: ["a.safetensors"])), TestNodeSpec(.test("b", checkpoints: ["b.safetensors"])),
            TestNodeSpec(.test("c", checkpoints: ["c.safetensors"]))
        ]
        try await withFleet(specs) { fleet in
            await fleet.node("b").inject(.refuseConnections(seconds: 1.5))
            try await eventually("b not up in Conductor") { await fleet.coordinator.nodeHealth()["b"] != .up }
            let id = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: "b.safetensors"), "client_id": "x"])
            #expect(try await fleet.conductor.get("/history/\(id)").json == [:])
            // b's link reconnects with backoff (up to 5 s between tries): on a busy machine the job may start seconds
            // after b answers again.
            let entry = try await fleet.conductor.waitForHistory(id, timeout: 30)
            #expect(entry["outputs"]?.objectValue?.values.first?["images"]?[0]?["subfolder"]?.stringValue?.split(separator: "/").first == "b")
        }
    }
}

@Suite("Conductor restarts")
struct RestartTests {
    @Test("a job running on a node when Conductor restarts is re-attached, not re-run, and its client hears the end")
    func restartMidJob() async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: ["a.safetensors"])), TestNodeSpec(.test("b", checkpoints: ["b.safetensors"])),
            TestNodeSpec(.test("c", checkpoints: ["c.safetensors"]))
        ]
        try await withNodes(specs) { nodes, config in
            await nodes["a"]!.node.inject(.hang(true))
            let id = try await withConductor(config) { coordinator, port in
                try await waitUntilReady(coordinator, nodeCount: 3)
                let client = TestClient(port: port)
                let id = try await client.submit(["prompt": TestFleet.prompt(checkpoint: "a.safetensors"), "client_id": "survivor"])
                try await eventually("running on a") {
                    try await nodes["a"]!.client.get("/queue").json?["queue_running"]?[0]?[1]?.stringValue == id
                }
                return id
            }
            // Conductor is gone; the node keeps working on the job.
            try await withConductor(config) { coordinator, port in
                try await waitUntilReady(coordinator, nodeCount: 3)
                let client = TestClient(port: port)
                #expect(try await client.get("/queue").json?["queue_running"]?[0]?[1]?.stringValue == id, "the job is still listed as running")
                try await withWebSocket(port: port, clientID: "survivor") { socket in
                    await nodes["a"]!.node.inject(.hang(false))
                    try await socket.waitForEnd(of: id)
                    #expect(socket.messages.contains { $0["type"] == "execution_success" }, "remaining events reach the reconnected client")
                }
                let entry = try await client.waitForHistory(id)
                #expect(entry["status"]?["status_str"] == "success")
                #expect(entry["outputs"]?["9"]?["images"]?[0]?["subfolder"] == "a")
            }
            #expect(await nodes["a"]!.node.executionCount == 1, "ran once")
            for name in ["b", "c"] { #expect(await nodes[name]!.node.executionCount == 0) }
        }
    }

    @Test("submits arriving together are committed together: each answered 200 is kept across a restart, a doubled id is refused once")
    func concurrentSubmitsAreDurable() async throws {
        try await withNodes([TestNodeSpec(.test("a", checkpoints: ["a.safetensors"]))]) { nodes, config in
            await nodes["a"]!.node.inject(.hang(true))
            let accepted = try await withConductor(config) { coordinator, port in
                try await waitUntilReady(coordinator, nodeCount: 1)
                let client = TestClient(port: port)
                let answers = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                    for index in 0..<40 {
                        // Two of them share an id: the store keeps one.
                        let id = index < 2 ? "twice" : "job-\(index)"
                        group.addTask {
                            let body: JSONValue = ["prompt": TestFleet.prompt(checkpoint: "a.safetensors", seed: index), "prompt_id": .string(id)]
                            let answer = try await client.post("/prompt", body)
                            if answer.status == 400 { #expect(answer.json?["error"]?["type"] == "invalid_prompt_id") }
                            return (id, answer.status)
                        }
                    }
                    return try await group.reduce(into: [(String, Int)]()) { $0.append($1) }
                }
                #expect(answers.filter { $0.0 == "twice" }.map(\.1).sorted() == [200, 400])
                #expect(answers.filter { $0.0 != "twice" }.allSatisfy { $0.1 == 200 })
                return Set(answers.filter { $0.1 == 200 }.map(\.0))
            }
            #expect(accepted.count == 39)
            try await withConductor(config) { coordinator, port in
                let queue = try #require(try await TestClient(port: port).get("/queue").json)
                let listed = ((queue["queue_running"]?.arrayValue ?? []) + (queue["queue_pending"]?.arrayValue ?? [])).compactMap {
                    $0[1]?.stringValue
                }
                #expect(Set(listed) == accepted, "every job answered 200 is still queued after the restart")
                #expect(listed.count == 39)
            }
        }
    }
}

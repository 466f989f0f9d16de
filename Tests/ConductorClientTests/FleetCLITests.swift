import ComfyWire
import ConductorClient
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// The same subcommands against Conductor in front of three simulated nodes.
@Suite("The CLI against Conductor and three nodes")
struct FleetCLITests {
    static let specs = [
        TestNodeSpec(.test("a", checkpoints: [Fixtures.sdxl])),
        TestNodeSpec(.test("b", checkpoints: [Fixtures.sdxl, Fixtures.sd15])),
        TestNodeSpec(.test("c", checkpoints: [Fixtures.sd15]))
    ]

    @Test("submit --wait --count 3 saves each variant's output under the node that made it, and history names the nodes")
    func variantsAcrossTheFleet() async throws {
        try await withFleet(Self.specs) { fleet in
            let server = fleet.conductor.base
            try await withTemporaryDirectory { directory in
                let file = try Fixtures.write(Fixtures.workflow(), in: directory)
                let result = try await CLIProcess.run(
                    ["submit", file, "--server", server, "--count", "3", "--wait", "--output-dir", "out"],
                    directory: directory)
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.hasNoControlCharacters)
                let lines = result.stdout.split(separator: "\n").map(String.init)
                #expect(lines.filter { $0.hasPrefix("Queued ") }.count == 3)
                #expect(lines.filter { $0.hasPrefix("  seeds: 3.seed=") }.count == 3)
                #expect(lines.filter { $0.hasPrefix("✓ ") && $0.contains(" done") }.count == 3)
                #expect(lines.last == "3 of 3 prompts succeeded; 3 files saved in out")
                let saved = lines.filter { $0.hasPrefix("Saved out/") }.map { String($0.dropFirst("Saved ".count)) }
                #expect(saved.count == 3)
                for path in saved {
                    let parts = path.split(separator: "/")
                    #expect(parts.count == 3 && ["a", "b"].contains(String(parts[1])), "\(path)")
                    let served = try await fleet.conductor.get("/view?filename=\(parts[2])&subfolder=\(parts[1])&type=output")
                    let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(path)))
                    #expect(served.status == 200 && bytes == served.body)
                }
                let history = try await CLIProcess.run(["history", "--server", server])
                let header = try #require(history.stdout.split(separator: "\n").first)
                #expect(header.hasPrefix("PROMPT ID") && header.contains("  NODE  "))
                let nodes = history.stdout.split(separator: "\n").dropFirst().dropLast()
                    .map { $0.split(separator: " ", omittingEmptySubsequences: true)[2] }
                #expect(nodes.count == 3 && nodes.allSatisfy { ["a", "b"].contains(String($0)) })
            }
        }
    }

    @Test("read commands see the whole fleet: models united, node classes, queue, history detail and view")
    func readCommands() async throws {
        try await withFleet(Self.specs) { fleet in
            let server = ["--server", fleet.conductor.base]
            let checkpoints = try await CLIProcess.run(["models", "checkpoints"] + server)
            #expect(Set(checkpoints.stdout.split(separator: "\n")) == [Substring(Fixtures.sdxl), Substring(Fixtures.sd15)])
            let sampler = try await CLIProcess.run(["nodes", "KSampler"] + server)
            #expect(sampler.status == 0 && sampler.stdout.contains("sampler_name"))
            let count = try await CLIProcess.run(["queue-count", "--json"] + server)
            #expect(try JSONValue(parsing: count.stdout)["exec_info"]?["queue_remaining"] == 0)
            let id = try await fleet.conductor.submit(["prompt": Fixtures.workflow(checkpoint: Fixtures.sd15), "client_id": "frank"])
            _ = try await fleet.conductor.waitForHistory(id)
            let one = try await CLIProcess.run(["history", id] + server)
            let node = try #require(one.stdout.split(separator: "\n").first { $0.hasPrefix("  node:") }).split(separator: " ").last.map(String.init)
            #expect(["b", "c"].contains(node ?? ""))
            #expect(one.stdout.contains("node 9 \"Save Image\" (SaveImage): \(node ?? "")/ComfyUI_00001_.png [output]"))
            let url = try await CLIProcess.run(["view", "\(node ?? "")/ComfyUI_00001_.png"] + server)
            #expect(url.stdout == "\(fleet.conductor.base)/view?filename=ComfyUI_00001_.png&subfolder=\(node ?? "")&type=output\n")
            try await withTemporaryDirectory { directory in
                let download = try await CLIProcess.run(["view", "--prompt", id, "-o", "."] + server, directory: directory)
                #expect(download.status == 0, "\(download.stderr)")
                #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("ComfyUI_00001_.png").path))
            }
            let queue = try await CLIProcess.run(["queue", "--json"] + server)
            #expect(try JSONValue(parsing: queue.stdout)["queue_pending"] == [])
        }
    }

    @Test("a workflow no node can run is rejected with its node errors; a failing job exits 1")
    func failures() async throws {
        try await withFleet(Self.specs) { fleet in
            try await withTemporaryDirectory { directory in
                let file = try Fixtures.write(Fixtures.workflow(), in: directory)
                let rejected = try await CLIProcess.run(["submit", file, "--server", fleet.conductor.base, "--set", "4.ckpt_name=nowhere.safetensors"]
                )
                #expect(rejected.status == 1)
                #expect(rejected.stderr.contains("node 4 \"Load Checkpoint\" (CheckpointLoaderSimple):\n    ckpt_name:"), "\(rejected.stderr)")
                for name in ["a", "b"] { await fleet.node(name).inject(.failNextPrompts(count: 1, message: "simulated crash")) }
                let failed = try await CLIProcess.run(["submit", file, "--server", fleet.conductor.base, "--wait", "--no-save"])
                #expect(failed.status == 1)
                #expect(failed.stdout.contains("simulated crash"), "\(failed.stdout)")
            }
        }
    }

    @Test("--front jumps Conductor's queue; cancel removes a waiting prompt and interrupts a running one")
    func frontAndCancel() async throws {
        let specs = [
            TestNodeSpec(.test("a", checkpoints: [Fixtures.sdxl]), maxOutstanding: 1),
            TestNodeSpec(.test("b", checkpoints: [Fixtures.sdxl]), maxOutstanding: 1)
        ]
        try await withFleet(specs) { fleet in
            for name in ["a", "b"] { await fleet.node(name).inject(.hang(true)) }
            let server = fleet.conductor.base
            try await withTemporaryDirectory { directory in
                let file = try Fixtures.write(Fixtures.workflow(), in: directory)
                func submit(_ extra: [String]) async throws -> String {
                    let result = try await CLIProcess.run(["submit", file, "--server", server, "--json", "--randomize"] + extra)
                    #expect(result.status == 0, "\(result.stderr)")
                    return try #require(try JSONValue(parsing: result.stdout)["prompt_id"]?.stringValue)
                }
                let runningA = try await submit([])
                let runningB = try await submit([])
                try await eventually("both nodes busy") {
                    try await fleet.conductor.get("/queue").json?["queue_running"]?.arrayValue?.count == 2
                }
                let waiting = try await submit(["--client-id", "gina"])
                let jumper = try await submit(["--front", "--client-id", "hal"])
                let queue = try await CLIProcess.run(["queue", "--server", server])
                let ids = queue.stdout.split(separator: "\n").dropFirst().dropLast()
                    .filter { $0.hasPrefix("pending") }.map { String($0.split(separator: " ", omittingEmptySubsequences: true)[2]) }
                #expect(ids == [jumper, waiting], "\(queue.stdout)")
                let cancel = try await CLIProcess.run(["cancel", waiting, runningA, "--server", server])
                #expect(cancel.status == 0, "\(cancel.stderr)")
                #expect(cancel.stdout == "Removed \(waiting) from the queue.\nInterrupted \(runningA).\n")
                let entry = try await fleet.conductor.waitForHistory(runningA)
                #expect(entry["status"]?["status_str"] == "error")
                let all = try await CLIProcess.run(["cancel", "--all", "--server", server])
                #expect(all.status == 0 && all.stdout.contains("Interrupted "), "\(all.stdout) \(all.stderr)")
                _ = runningB
            }
        }
    }

    @Test("watch --client-id follows that client's prompts through Conductor")
    func watch() async throws {
        try await withFleet(Self.specs) { fleet in
            let watcher = try CLIProcess(["watch", "--client-id", "ivy", "--server", fleet.conductor.base])
            defer { watcher.stop() }
            try await eventually(timeout: 20, "watch connected") { watcher.stdout.contains("as client ivy.") }
            let id = try await fleet.conductor.submit(["prompt": Fixtures.workflow(), "client_id": "ivy"])
            try await eventually(timeout: 20, "watch saw the end") { watcher.stdout.contains("finished: success") }
            watcher.stop()
            let text = await watcher.wait().stdout
            #expect(text.contains("\(id.prefix(8))  running node 3 \"Sampler\" (KSampler)"))
            #expect(text.contains("\(id.prefix(8))  node 9 \"Save Image\" (SaveImage) output: "))
        }
    }

    @Test("upload through Conductor stores the image for the fleet")
    func upload() async throws {
        try await withFleet(Self.specs) { fleet in
            try await withTemporaryDirectory { directory in
                try Data(Fixtures.png()).write(to: directory.appendingPathComponent("photo.png"))
                let result = try await CLIProcess.run(["upload", "photo.png", "--server", fleet.conductor.base], directory: directory)
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout.hasPrefix("Uploaded photo.png to input/"))
                // The file is the fleet's: /view through Conductor serves the same bytes.
                let view = try await fleet.conductor.get("/view?filename=photo.png&type=input")
                #expect(view.body == Fixtures.png())
                // And a mask over it is composed by the fleet and stored under the mask's name.
                try Data(Fixtures.png()).write(to: directory.appendingPathComponent("mask.png"))
                let masked = try await CLIProcess.run(
                    ["upload", "mask.png", "--mask-for", "photo.png", "--server", fleet.conductor.base], directory: directory)
                #expect(masked.status == 0, "\(masked.stderr)")
                #expect(try await fleet.conductor.get("/view?filename=mask.png&type=input").status == 200)
            }
        }
    }
}

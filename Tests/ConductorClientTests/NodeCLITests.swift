import ComfyWire
import ConductorClient
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// Every subcommand, run as a user runs it, against one simulated ComfyUI node.
@Suite("The CLI against one ComfyUI node")
struct NodeCLITests {
    @Test("queue-count, queue, models and nodes print readable text, and --json the server's answer")
    func readCommands() async throws {
        try await withNode { _, node in
            let server = ["--server", node.base]
            let count = try await CLIProcess.run(["queue-count"] + server)
            #expect(count.status == 0 && count.stdout == "The queue is empty.\n")
            let countJSON = try await CLIProcess.run(["queue-count", "--json"] + server)
            #expect(countJSON.stdout == "{\"exec_info\":{\"queue_remaining\":0}}\n")
            let queue = try await CLIProcess.run(["queue"] + server)
            #expect(queue.status == 0 && queue.stdout == "The queue is empty.\n")
            let folders = try await CLIProcess.run(["models"] + server)
            #expect(folders.stdout.split(separator: "\n").contains("checkpoints"))
            let checkpoints = try await CLIProcess.run(["models", "checkpoints"] + server)
            #expect(checkpoints.stdout == "\(Fixtures.sdxl)\n\(Fixtures.sd15)\n" || checkpoints.stdout == "\(Fixtures.sd15)\n\(Fixtures.sdxl)\n")
            let missing = try await CLIProcess.run(["models", "unet"] + server)
            #expect(missing.status == 1 && missing.stderr.contains("no model folder \"unet\". Its folders: checkpoints"))
            let classes = try await CLIProcess.run(["nodes", "--search", "sampler"] + server)
            #expect(classes.stdout.hasPrefix("CLASS ") && classes.stdout.contains("\nKSampler  "))
            let sampler = try await CLIProcess.run(["nodes", "KSampler"] + server)
            #expect(sampler.stdout.hasPrefix("KSampler\ncategory: sampling"))
            #expect(sampler.stdout.contains("steps") && sampler.stdout.contains("default 20; 1…10000"))
            #expect(sampler.stdout.contains("Outputs\n  0  LATENT"))
            let samplerJSON = try await CLIProcess.run(["nodes", "KSampler", "--json"] + server)
            #expect(try JSONValue(parsing: samplerJSON.stdout)["KSampler"]?["output"] == ["LATENT"])
            let unknown = try await CLIProcess.run(["nodes", "Ksamp"] + server)
            #expect(unknown.status == 1 && unknown.stderr.contains("Did you mean: KSampler"))
            for result in [count, queue, folders, checkpoints, classes, sampler] { #expect(result.hasNoControlCharacters) }
        }
    }

    @Test("submit --wait edits the workflow, shows progress as plain lines, and saves the output the server made")
    func submitAndWait() async throws {
        try await withNode { _, node in
            try await withTemporaryDirectory { directory in
                let file = try Fixtures.write(Fixtures.workflow(steps: 8), in: directory)
                let result = try await CLIProcess.run(
                    [
                        "submit", file, "--server", node.base, "--set", "Positive Prompt.text=a red fox", "--set", "3.steps=12",
                        "--randomize", "--wait", "--output-dir", "out"
                    ], directory: directory)
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.hasNoControlCharacters)
                let lines = result.stdout.split(separator: "\n").map(String.init)
                #expect(lines.first?.hasPrefix("Queued ") == true)
                #expect(lines.contains { $0.hasSuffix("3 \"Sampler\" (KSampler)  100%  12/12") })
                #expect(lines.contains("Saved out/ComfyUI_00001_.png"))
                #expect(lines.last == "1 file saved in out")
                let id = try #require(lines.first?.split(separator: " ")[1]).description
                let entry = try await node.waitForHistory(id)
                #expect(entry["prompt"]?[2]?["6"]?["inputs"]?["text"] == "a red fox")
                #expect(entry["prompt"]?[2]?["3"]?["inputs"]?["steps"] == 12)
                #expect(entry["prompt"]?[2]?["3"]?["inputs"]?["seed"] != 1)
                let served = try await node.get("/view?filename=ComfyUI_00001_.png&type=output")
                let saved = try Data(contentsOf: directory.appendingPathComponent("out/ComfyUI_00001_.png"))
                #expect(served.status == 200 && Array(saved) == served.body)
            }
        }
    }

    @Test("a workflow the server rejects exits 1 and names each bad node, its title, input and message")
    func rejectedWorkflow() async throws {
        try await withNode { _, node in
            try await withTemporaryDirectory { directory in
                let file = try Fixtures.write(Fixtures.workflow(checkpoint: "missing.safetensors"), in: directory)
                let result = try await CLIProcess.run(["submit", file, "--server", node.base, "--set", "3.steps=0"])
                #expect(result.status == 1)
                #expect(result.stdout.isEmpty)
                #expect(result.stderr.contains("rejected the workflow: Prompt outputs failed validation."))
                #expect(result.stderr.contains("node 4 \"Load Checkpoint\" (CheckpointLoaderSimple):\n    ckpt_name: Value not in list"))
                #expect(result.stderr.contains("node 3 \"Sampler\" (KSampler):\n    steps: Value 0 smaller than min of 1"))
                let typo = try await CLIProcess.run(["submit", file, "--server", node.base, "--set", "Sampler.step=3"])
                #expect(typo.status == 64 && typo.stderr.contains("has no input \"step\""))
            }
        }
    }

    @Test("submit --wait exits 1 when the prompt fails on the node, and says at which node")
    func failedJob() async throws {
        try await withNode { simulated, node in
            await simulated.inject(.failNextPrompts(count: 1, message: "CUDA out of memory"))
            try await withTemporaryDirectory { directory in
                let file = try Fixtures.write(Fixtures.workflow(), in: directory)
                let result = try await CLIProcess.run(["submit", file, "--server", node.base, "--wait"], directory: directory)
                #expect(result.status == 1)
                #expect(result.stdout.contains("failed"), "\(result.stdout)")
                #expect(result.stdout.contains("CUDA out of memory"))
            }
        }
    }

    @Test("--front jumps the queue, --number places a prompt, and queue lists them in run order with client ids")
    func jumpTheQueue() async throws {
        try await withNode { simulated, node in
            await simulated.inject(.hang(true))
            try await withTemporaryDirectory { directory in
                let file = try Fixtures.write(Fixtures.workflow(), in: directory)
                func submit(_ extra: [String]) async throws -> String {
                    let result = try await CLIProcess.run(["submit", file, "--server", node.base, "--json"] + extra)
                    #expect(result.status == 0, "\(result.stderr)")
                    return try #require(try JSONValue(parsing: result.stdout)["prompt_id"]?.stringValue)
                }
                let running = try await submit(["--client-id", "alice"])
                let first = try await submit(["--randomize", "--client-id", "alice"])
                let jumper = try await submit(["--randomize", "--front", "--client-id", "bob"])
                let placed = try await submit(["--randomize", "--number=-100"])
                try await eventually { try await node.get("/queue").json?["queue_running"]?.arrayValue?.count == 1 }
                let queue = try await CLIProcess.run(["queue", "--server", node.base])
                let rows = queue.stdout.split(separator: "\n").dropFirst().map {
                    $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                }
                #expect(rows.map { $0.count > 2 ? $0[2] : "" }.prefix(4) == [running, placed, jumper, first])
                #expect(rows[0].prefix(2) == ["running", "-"] && rows[0][3] == "alice")
                #expect(rows[2][3] == "bob")
                #expect(queue.stdout.hasSuffix("1 running, 3 pending\n"))
                let count = try await CLIProcess.run(["queue-count", "--server", node.base])
                #expect(count.stdout == "4 prompts in the queue (running or waiting).\n")
                // Cancel: a waiting prompt is removed, the running one interrupted, an unknown id reported.
                let cancel = try await CLIProcess.run(["cancel", first, running, "nope", "--server", node.base])
                #expect(cancel.status == 1)
                #expect(cancel.stdout == "Removed \(first) from the queue.\nInterrupted \(running).\n")
                #expect(cancel.stderr.contains("nope is neither waiting nor running"))
                let interrupted = try await node.waitForHistory(running)
                #expect(interrupted["status"]?["status_str"] == "error")
                await simulated.inject(.hang(true))
                try await eventually { try await node.get("/queue").json?["queue_running"]?.arrayValue?.count == 1 }
                let clear = try await CLIProcess.run(["cancel", "--all", "--server", node.base])
                #expect(clear.status == 0)
                #expect(clear.stdout.hasPrefix("Cleared the queue (1 waiting prompt removed).\nInterrupted "))
                try await eventually { try await node.get("/prompt").json?["exec_info"]?["queue_remaining"] == 0 }
            }
        }
    }

    @Test("history lists finished prompts and shows one with its outputs; view prints the URL and downloads the file")
    func historyAndView() async throws {
        try await withNode { _, node in
            let id = try await node.submit(["prompt": Fixtures.workflow(), "client_id": "carol"])
            _ = try await node.waitForHistory(id)
            let list = try await CLIProcess.run(["history", "--server", node.base])
            #expect(list.status == 0)
            let row = try #require(list.stdout.split(separator: "\n").dropFirst().first).split(separator: " ", omittingEmptySubsequences: true)
            #expect(row.first.map(String.init) == id && row[1] == "success" && row.last == "ComfyUI_00001_.png")
            #expect(!list.stdout.contains("NODE"))
            let one = try await CLIProcess.run(["history", id, "--server", node.base])
            #expect(one.stdout.contains("Prompt \(id)\n  status:    success\n  client id: carol"))
            #expect(one.stdout.contains("node 9 \"Save Image\" (SaveImage): ComfyUI_00001_.png [output]"))
            #expect(one.stdout.contains("\(node.base)/view?filename=ComfyUI_00001_.png&type=output"))
            let json = try await CLIProcess.run(["history", id, "--json", "--server", node.base])
            #expect(try JSONValue(parsing: json.stdout)[id]?["status"]?["status_str"] == "success")
            let paged = try await CLIProcess.run(["history", "--limit", "1", "--offset", "5", "--server", node.base])
            #expect(paged.stdout == "No finished prompts in the history.\n")
            let unknown = try await CLIProcess.run(["history", "00000000-0000-0000-0000-000000000000", "--server", node.base])
            #expect(unknown.status == 1 && unknown.stderr.contains("has no finished prompt"))

            let url = try await CLIProcess.run(["view", "ComfyUI_00001_.png", "--server", node.base])
            #expect(url.stdout == "\(node.base)/view?filename=ComfyUI_00001_.png&type=output\n")
            try await withTemporaryDirectory { directory in
                let download = try await CLIProcess.run(["view", "ComfyUI_00001_.png", "-o", "copy.png", "--server", node.base], directory: directory)
                #expect(download.status == 0 && download.stdout.hasPrefix("Saved ComfyUI_00001_.png ("))
                let served = try await node.get("/view?filename=ComfyUI_00001_.png")
                #expect(Array(try Data(contentsOf: directory.appendingPathComponent("copy.png"))) == served.body)
                let all = try await CLIProcess.run(["view", "--prompt", id, "-o", "all", "--server", node.base], directory: directory)
                #expect(all.status == 0 && FileManager.default.fileExists(atPath: directory.appendingPathComponent("all/ComfyUI_00001_.png").path))
                let absent = try await CLIProcess.run(["view", "nothing.png", "-o", "x.png", "--server", node.base], directory: directory)
                #expect(absent.status == 1 && absent.stderr.contains("has no output file nothing.png"))
            }
        }
    }

    @Test("upload stores an image and a mask for it, and prints the value a LoadImage input takes")
    func upload() async throws {
        try await withNode { _, node in
            try await withTemporaryDirectory { directory in
                try Data(Fixtures.png()).write(to: directory.appendingPathComponent("photo.png"))
                try Data(Fixtures.png(color: 0x000000)).write(to: directory.appendingPathComponent("mask.png"))
                let image = try await CLIProcess.run(["upload", "photo.png", "--subfolder", "pasted", "--server", node.base], directory: directory)
                #expect(image.status == 0, "\(image.stderr)")
                #expect(
                    image.stdout == """
                        Uploaded photo.png to input/pasted/photo.png
                        In a workflow: "pasted/photo.png"  (e.g. --set "LoadImage.image=pasted/photo.png")

                        """)
                let stored = try await node.get("/view?filename=photo.png&subfolder=pasted&type=input")
                #expect(stored.body == Fixtures.png())
                let again = try await CLIProcess.run(
                    ["upload", "mask.png", "--name", "photo.png", "--subfolder", "pasted", "--json", "--server", node.base],
                    directory: directory)
                #expect(try JSONValue(parsing: again.stdout)["name"] == "photo (1).png")
                let replaced = try await CLIProcess.run(
                    ["upload", "mask.png", "--name", "photo.png", "--subfolder", "pasted", "--overwrite", "--server", node.base],
                    directory: directory)
                #expect(replaced.stdout.hasPrefix("Uploaded mask.png to input/pasted/photo.png"))
                let mask = try await CLIProcess.run(
                    ["upload", "mask.png", "--mask-for", "pasted/photo (1).png", "--name", "masked.png", "--server", node.base],
                    directory: directory)
                #expect(mask.status == 0, "\(mask.stderr)")
                #expect(mask.stdout.hasPrefix("Uploaded mask.png as the mask of pasted/photo (1).png to input/masked.png"))
                #expect(try await node.get("/view?filename=masked.png&type=input").status == 200)
            }
        }
    }

    @Test("watch --client-id prints that client's prompt as readable lines; --json prints each event as a JSON line")
    func watch() async throws {
        var slower = NodeProfile.test
        slower.timeScale = 0.01
        try await withNode(slower) { _, node in
            let human = try CLIProcess(["watch", "--client-id", "dave", "--server", node.base])
            let machine = try CLIProcess(["watch", "--client-id", "erin", "--json", "--server", node.base])
            defer {
                human.stop()
                machine.stop()
            }
            try await eventually(timeout: 20, "watch connected") {
                human.stdout.hasPrefix("Watching \(node.base) as client dave.") && machine.stdout.contains("\"sid\":\"erin\"")
            }
            let id = try await node.submit(["prompt": Fixtures.workflow(steps: 10, size: 512), "client_id": "dave"])
            let other = try await node.submit(["prompt": Fixtures.workflow(steps: 10, seed: 2, size: 512), "client_id": "erin"])
            try await eventually(timeout: 20, "watch saw the end") {
                human.stdout.contains("finished: success") && machine.stdout.contains("\"execution_success\"")
            }
            human.stop()
            machine.stop()
            let text = await human.wait().stdout
            let short = String(id.prefix(8))
            #expect(text.contains("\(short)  started"))
            #expect(text.contains("\(short)  running node 3 \"Sampler\" (KSampler)"))
            #expect(text.contains("\(short)  node 3 \"Sampler\" (KSampler)  100%  10/10"))
            #expect(text.contains("\(short)  node 9 \"Save Image\" (SaveImage) output: ComfyUI_00001_.png"))
            #expect(!text.contains(other.prefix(8)))
            #expect(!text.contains("\u{1B}"))
            let lines = await machine.wait().stdout.split(separator: "\n")
            let events = lines.compactMap { try? JSONValue(parsing: String($0)) }
            #expect(events.count == lines.count)
            #expect(events.contains { $0["type"] == "executed" && $0["data"]?["prompt_id"]?.stringValue == other })
        }
    }

    @Test("an unreachable server exits 69 and says how to start one or point elsewhere")
    func unreachable() async throws {
        let result = try await CLIProcess.run(["queue-count"], environment: ["CONDUCTOR_SERVER": "http://127.0.0.1:1"])
        #expect(result.status == 69)
        #expect(result.stderr.contains("Cannot reach http://127.0.0.1:1 (connection refused)."))
        #expect(result.stderr.contains("`conductor demo`") && result.stderr.contains("--server URL"))
        let bad = try await CLIProcess.run(["queue", "--server", "ftp://x"])
        #expect(bad.status == 64 && bad.stderr.contains("is not a server address"))
    }
}

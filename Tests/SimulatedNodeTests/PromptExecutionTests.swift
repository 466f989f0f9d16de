import ComfyWire
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// The seed KSampler workflow run end to end, as a client sees it on /ws, /view, /history and /queue.
@Suite("Prompt execution of the seed workflow")
struct PromptExecutionTests {
    @Test("the seed workflow streams 30 sampler steps, saves ComfyUI_00001_.png and ends with success then executing null")
    func seedWorkflowRunsToASavedImage() async throws {
        let request = try Behaviour.seedWorkflow()
        #expect(request["client_id"] == "readme")
        try await withNode { node, client in
            let files = node.files
            try await withWebSocket(port: client.port, clientID: "readme") { socket in
                let id = try await client.submit(request)
                try await socket.waitForEnd(of: id)
                let messages = socket.messages.filter { $0["data"]?["prompt_id"]?.stringValue == id }
                let types = messages.compactMap { $0["type"]?.stringValue }

                let progress = messages.filter { $0["type"] == "progress" }
                #expect(progress.count == 30)
                #expect(progress.allSatisfy { $0["data"]?["node"] == "3" && $0["data"]?["max"]?.intValue == 30 })
                #expect(progress.compactMap { $0["data"]?["value"]?.intValue } == Array(1...30))

                let executed = messages.filter { $0["type"] == "executed" }
                #expect(executed.count == 1)
                #expect(executed.first?["data"]?["node"] == "9")
                #expect(executed.first?["data"]?["output"]?["images"]?[0]?["filename"] == "ComfyUI_00001_.png")

                let lastProgress = try #require(types.lastIndex(of: "progress"))
                let executedAt = try #require(types.firstIndex(of: "executed"))
                let successAt = try #require(types.firstIndex(of: "execution_success"))
                let end = try #require(messages.lastIndex { $0["type"] == "executing" && $0["data"]?["node"] == .null })
                #expect(lastProgress < executedAt && executedAt < successAt && successAt < end)
                #expect(end == messages.count - 1, "executing null is the prompt's last message")

                let view = try await client.get("/view?filename=ComfyUI_00001_.png")
                #expect(view.status == 200)
                #expect(view.header("Content-Type") == "image/png")
                let onDisk = try Data(contentsOf: files.directory(.output).appendingPathComponent("ComfyUI_00001_.png"))
                #expect(view.body == Array(onDisk))
                let image = try PNG.decode(view.body)
                #expect(image.width == 512 && image.height == 512)

                let history = try await client.waitForHistory(id)
                let stored = try #require(history["prompt"]?[2])
                let sent = try #require(request["prompt"]?.objectValue)
                for (nodeID, sentNode) in sent {
                    #expect(stored[nodeID]?["_meta"]?["title"] == sentNode["_meta"]?["title"], "title of node \(nodeID)")
                }
                #expect(stored["3"]?["_meta"]?["title"] == "K采样器")
                #expect(stored["4"]?["inputs"]?["ckpt_name"] == "sdxl-动漫二次元_2.0.safetensors")
                #expect(history["status"]?["status_str"] == "success")
            }
        }
    }

    @Test("a seed of 18446744073709551615 reaches /queue, /history and the saved PNG digit for digit")
    func largestSeedSurvives() async throws {
        let request = try Behaviour.ksampler(
            checkpoint: "v1-5-pruned-emaonly.safetensors",
            seed: .number(JSONNumber(UInt64.max)), clientID: "seed")
        try await withNode { node, client in
            await node.inject(.hang(true))
            let id = try await client.submit(request)
            try await Behaviour.waitUntilRunning(id, client)
            let queue = try await client.get("/queue").text
            #expect(queue.contains("\"seed\": 18446744073709551615,"), "GET /queue: \(queue.prefix(400))")

            await node.inject(.hang(false))
            let entry = try await client.waitForHistory(id)
            #expect(entry["status"]?["status_str"] == "success")
            let history = try await client.get("/history/\(id)").text
            #expect(history.contains("\"seed\": 18446744073709551615,"), "GET /history: \(history.prefix(400))")

            let file = try #require(entry["outputs"]?["9"]?["images"]?[0]?["filename"]?.stringValue)
            let png = try await client.get("/view?filename=\(file)").body
            let embedded = PNG.textChunks(png).first { $0.0 == "prompt" }?.1 ?? ""
            #expect(embedded.contains("\"seed\":18446744073709551615,"))
        }
    }
}

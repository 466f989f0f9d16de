import ComfyWire
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// The simulated GPU as `/system_stats`, `/free` and job outcomes show it: checkpoints stay resident,
/// evict each other when the card is full, and fail when they can never fit.
@Suite("Simulated GPU memory")
struct GPUSimulationTests {
    static let total: Int64 = 8 << 30
    static let large = NodeProfile.ModelFile(name: "sdxl-large.safetensors", sizeBytes: 6_900_000_000)
    static let small = NodeProfile.ModelFile(name: "sd15-small.safetensors", sizeBytes: 4_200_000_000)
    static let oversized = NodeProfile.ModelFile(name: "flux-oversized.safetensors", sizeBytes: 12_000_000_000)

    /// An 8 GiB card with a 6.9 GB and a 4.2 GB checkpoint (which never fit together) and one larger than the card.
    static var profile: NodeProfile {
        var profile = NodeProfile.test
        profile.vramTotalBytes = total
        profile.checkpoints = [large, small, oversized]
        return profile
    }

    static func run(_ checkpoint: NodeProfile.ModelFile, _ client: TestClient) async throws -> JSONValue {
        let id = try await client.submit(try Behaviour.ksampler(checkpoint: checkpoint.name, clientID: "gpu"))
        return try await client.waitForHistory(id)
    }

    @Test("a checkpoint stays in VRAM after its job, and the next one that does not fit beside it evicts it")
    func checkpointsEvictEachOther() async throws {
        let profile = Self.profile
        let reserved = profile.vramReservedBytes
        try await withNode(profile) { node, client in
            let idle = try #require(try await Behaviour.device(client))
            #expect(idle["vram_total"]?.numberValue?.int64 == Self.total)
            #expect(idle["vram_free"]?.numberValue?.int64 == Self.total - reserved)

            #expect(try await Self.run(Self.large, client)["status"]?["status_str"] == "success")
            #expect(try await Behaviour.device(client)?["vram_free"]?.numberValue?.int64 == Self.total - reserved - Self.large.sizeBytes)
            #expect(await node.residentModels == [Self.large.name])

            #expect(try await Self.run(Self.small, client)["status"]?["status_str"] == "success")
            #expect(try await Behaviour.device(client)?["vram_free"]?.numberValue?.int64 == Self.total - reserved - Self.small.sizeBytes)
            #expect(await node.residentModels == [Self.small.name])
        }
    }

    @Test("POST /free with unload_models frees every loaded checkpoint")
    func freeUnloadsModels() async throws {
        let profile = Self.profile
        try await withNode(profile) { node, client in
            _ = try await Self.run(Self.small, client)
            #expect(await node.residentModels == [Self.small.name])
            let free = try await client.post("/free", ["unload_models": true])
            #expect(free.status == 200 && free.body.isEmpty)
            #expect(try await Behaviour.device(client)?["vram_free"]?.numberValue?.int64 == Self.total - profile.vramReservedBytes)
            #expect(await node.residentModels.isEmpty)
        }
    }

    @Test("a checkpoint larger than the card ends the job in an out-of-memory execution_error")
    func oversizedCheckpointRunsOutOfMemory() async throws {
        try await withNode(Self.profile) { node, client in
            try await withWebSocket(port: client.port, clientID: "gpu") { socket in
                let id = try await client.submit(try Behaviour.ksampler(checkpoint: Self.oversized.name, clientID: "gpu"))
                try await socket.waitForEnd(of: id)
                let error = try #require(socket.messages.first { $0["type"] == "execution_error" }?["data"])
                #expect(error["prompt_id"]?.stringValue == id)
                #expect(error["exception_type"]?.stringValue?.contains("OutOfMemory") == true, "\(error)")
                #expect(error["node_type"] == "KSampler")
                let entry = try await client.waitForHistory(id)
                #expect(entry["status"]?["status_str"] == "error")
                #expect(entry["status"]?["completed"] == false)
                #expect(await node.residentModels.isEmpty)
            }
        }
    }

    @Test("a checkpoint the node does not have is a 400 value_not_in_list")
    func unknownCheckpointFailsValidation() async throws {
        try await withNode(Self.profile) { _, client in
            let result = try await client.post("/prompt", try Behaviour.ksampler(checkpoint: "not-on-this-node.safetensors", clientID: "gpu"))
            #expect(result.status == 400)
            let error = try #require(result.json?["node_errors"]?["4"]?["errors"]?[0])
            #expect(error["type"] == "value_not_in_list")
            #expect(error["extra_info"]?["received_value"] == "not-on-this-node.safetensors")
            #expect(try await client.get("/queue").json?["queue_pending"] == [])
        }
    }
}

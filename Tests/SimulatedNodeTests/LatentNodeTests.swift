import ComfyWire
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// SaveLatent and LoadLatent as one ComfyUI has them: a `.latent` (safetensors) file in `output/latents`, and a list of
/// the input folder's `.latent` files whose check is the class's own (the file exists), not the list.
@Suite("Latent files")
struct LatentNodeTests {
    static func save(width: Int) -> JSONValue {
        [
            "prompt": [
                "1": ["class_type": "EmptyLatentImage", "inputs": ["width": .int(width), "height": 64, "batch_size": 2]],
                "2": ["class_type": "SaveLatent", "inputs": ["samples": ["1", 0], "filename_prefix": "latents/ComfyUI"]]
            ]
        ]
    }

    static func load(_ name: String) -> JSONValue {
        [
            "prompt": [
                "1": ["class_type": "LoadLatent", "inputs": ["latent": .string(name)]],
                "2": ["class_type": "SaveLatent", "inputs": ["samples": ["1", 0], "filename_prefix": "again"]]
            ]
        ]
    }

    static func shape(of bytes: [UInt8]) -> [Int]? {
        guard bytes.count > 8 else { return nil }
        let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard length <= bytes.count - 8, let header = try? JSONValue(parsing: bytes[8..<(8 + length)]) else { return nil }
        return header["latent_tensor"]?["shape"]?.arrayValue?.compactMap(\.intValue)
    }

    @Test("SaveLatent writes latents/ComfyUI_00001_.latent; uploaded back, LoadLatent lists it and reads its shape")
    func roundTrip() async throws {
        try await withNode { _, client in
            let saved = try await client.waitForHistory(try await client.submit(Self.save(width: 128)))
            let file = try #require(saved["outputs"]?["2"]?["latents"]?[0])
            #expect(file == ["filename": "ComfyUI_00001_.latent", "subfolder": "latents", "type": "output"])
            let bytes = try await client.get("/view?filename=ComfyUI_00001_.latent&subfolder=latents&type=output").body
            #expect(Self.shape(of: bytes) == [2, 4, 8, 16])

            #expect(try await client.upload("walk.latent", bytes).status == 200)
            #expect(try await client.upload("cat.png", PNG.encode(Behaviour.gradient(width: 2, height: 2))).status == 200)
            let listed = try await client.get("/object_info/LoadLatent").json?["LoadLatent"]?["input"]?["required"]?["latent"]
            #expect(listed == [["walk.latent"]], "only .latent files, with no upload widget")

            let loaded = try await client.waitForHistory(try await client.submit(Self.load("walk.latent")))
            #expect(loaded["status"]?["status_str"] == "success")
            let again = try await client.get("/view?filename=again_00001_.latent&type=output").body
            #expect(Self.shape(of: again) == [2, 4, 8, 16])
        }
    }

    @Test("LoadLatent's own check: a missing file is refused at submit, a file that is no latent fails when it runs")
    func ownCheck() async throws {
        try await withNode { _, client in
            let missing = try await client.post("/prompt", Self.load("nowhere.latent"))
            #expect(missing.status == 400)
            let error = try #require(missing.json?["node_errors"]?["1"]?["errors"]?[0])
            #expect(error["type"] == "custom_validation_failed")
            #expect(error["details"] == "latent - Invalid latent file: nowhere.latent")

            #expect(try await client.upload("cat.png", PNG.encode(Behaviour.gradient(width: 2, height: 2))).status == 200)
            let entry = try await client.waitForHistory(try await client.submit(Self.load("cat.png")))
            #expect(entry["status"]?["status_str"] == "error")
            let failure = entry["status"]?["messages"]?.arrayValue?.first { $0[0] == "execution_error" }?[1]
            #expect(failure?["exception_type"] == "safetensors_rust.SafetensorError")
        }
    }
}

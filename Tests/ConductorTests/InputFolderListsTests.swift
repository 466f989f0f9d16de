import ComfyWire
import ConductorCore
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

@testable import Conductor

/// Combos that list a node's input folder without an upload widget (LoadLatent's `.latent` files) take the fleet's
/// uploads, as LoadImage does: checked on what a client sees (answers, outputs, the web page's lists) and on what
/// reached each node.
@Suite("Input-folder lists take uploads")
struct InputFolderListsTests {
    static let sd15 = "v1-5-pruned-emaonly.safetensors"

    static func saveLatent(width: Int) -> JSONValue {
        [
            "1": ["class_type": "EmptyLatentImage", "inputs": ["width": .int(width), "height": 64, "batch_size": 1]],
            "2": ["class_type": "SaveLatent", "inputs": ["samples": ["1", 0], "filename_prefix": "latents/made"]]
        ]
    }

    static func loadLatent(_ name: String, prefix: String) -> JSONValue {
        [
            "1": ["class_type": "LoadLatent", "inputs": ["latent": .string(name)]],
            "2": ["class_type": "SaveLatent", "inputs": ["samples": ["1", 0], "filename_prefix": .string(prefix)]]
        ]
    }

    /// The latent tensor's shape in a `.latent` file (a safetensors header).
    static func shape(of bytes: [UInt8]) -> [Int]? {
        guard bytes.count > 8 else { return nil }
        let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard length <= bytes.count - 8, let header = try? JSONValue(parsing: bytes[8..<(8 + length)]) else { return nil }
        return header["latent_tensor"]?["shape"]?.arrayValue?.compactMap(\.intValue)
    }

    /// The first `latents` file of a finished prompt, downloaded through Conductor.
    static func latentOutput(of id: String, fleet: TestFleet) async throws -> [UInt8] {
        let entry = try await fleet.conductor.waitForHistory(id)
        #expect(entry["status"]?["status_str"]?.stringValue == "success", "prompt \(id) failed: \(entry["status"] ?? .null)")
        let file = try #require(entry["outputs"]?["2"]?["latents"]?[0])
        let query = "filename=\(file["filename"]?.stringValue ?? "")&subfolder=\(file["subfolder"]?.stringValue ?? "")&type=output"
        let view = try await fleet.conductor.get("/view?" + query)
        #expect(view.status == 200)
        return view.body
    }

    static func inputFiles(of node: SimulatedNode) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: node.files.directory(.input).path)) ?? []).sorted()
    }

    @Test("SaveLatent's file, downloaded and uploaded, loads with LoadLatent on every node; each node receives it once")
    func latentRoundTrip() async throws {
        let specs = ["a", "b", "c"].map { TestNodeSpec(.test($0, checkpoints: [Self.sd15]), maxOutstanding: 1) }
        try await withFleet(specs) { fleet in
            let made = try await fleet.conductor.submit(["prompt": Self.saveLatent(width: 96)])
            let bytes = try await Self.latentOutput(of: made, fleet: fleet)
            #expect(Self.shape(of: bytes) == [1, 4, 8, 12])
            let upload = try await fleet.conductor.multipart("/upload/image", fields: [], file: ("image", "walk.latent", bytes))
            #expect(upload.json == ["name": "walk.latent", "subfolder": "", "type": "input"])

            // Submitted at once: the first submit waits for the nodes' lists to show the probe for `.latent`.
            var ids: [String] = []
            for i in 0..<6 { ids.append(try await fleet.conductor.submit(["prompt": Self.loadLatent("walk.latent", prefix: "again\(i)")])) }
            var ranOn = Set<String>()
            for id in ids {
                #expect(Self.shape(of: try await Self.latentOutput(of: id, fleet: fleet)) == [1, 4, 8, 12])
                let subfolder = try await fleet.conductor.waitForHistory(id)["outputs"]?["2"]?["latents"]?[0]?["subfolder"]?.stringValue
                ranOn.insert(try #require(subfolder?.split(separator: "/").first.map(String.init)))
            }
            #expect(ranOn.count >= 2, "the six prompts all ran on \(ranOn)")
            // Each node that ran one holds one copy, named by its content, and it crossed the wire once per node.
            let hash = try #require(fleet.coordinator.files.file(.input, subfolder: "", name: "walk.latent")?.hash)
            let copy = "conductor-" + hash.prefix(16) + ".latent"
            for name in ranOn {
                #expect(Self.inputFiles(of: fleet.node(name)).filter { $0.hasSuffix(".latent") && $0 != Coordinator.probeStem + ".latent" } == [copy])
            }
            #expect(await fleet.coordinator.bytesMoved == Int64(bytes.count * ranOn.count))
            // History shows the client's own name.
            #expect(try await fleet.conductor.waitForHistory(ids[0])["prompt"]?[2]?["1"]?["inputs"]?["latent"] == "walk.latent")
        }
    }

    @Test("a .png named in LoadLatent is refused in ComfyUI's shape; the web page's lists show each upload where it fits")
    func wrongKindRefused() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.sd15])), TestNodeSpec(.test("b", checkpoints: [Self.sd15]))]) { fleet in
            let png = PNG.encode(RasterImage(width: 2, height: 2, channels: 3, pixels: [UInt8](repeating: 9, count: 12)))
            #expect(try await fleet.conductor.multipart("/upload/image", fields: [], file: ("image", "cat.png", png)).status == 200)
            let latent = Array(repeating: UInt8(0), count: 8)
            #expect(try await fleet.conductor.multipart("/upload/image", fields: [], file: ("image", "blank.latent", latent)).status == 200)

            // The lists a client sees: Conductor's uploads of the kind each one shows, none of Conductor's own files
            // (once the nodes' lists were probed for `.latent`, which the upload set off).
            try await eventually("blank.latent listed for LoadLatent") {
                try await fleet.conductor.get("/object_info").json?["LoadLatent"]?["input"]?["required"]?["latent"]?[0] == ["blank.latent"]
            }
            let info = try #require(try await fleet.conductor.get("/object_info").json)
            #expect(info["LoadImage"]?["input"]?["required"]?["image"]?[0] == ["cat.png"])

            let refused = try await fleet.conductor.post("/prompt", ["prompt": Self.loadLatent("cat.png", prefix: "no")])
            #expect(refused.status == 400)
            #expect(refused.json?["error"]?["type"] == "prompt_outputs_failed_validation")
            let error = refused.json?["node_errors"]?["1"]?["errors"]?[0]
            #expect(error?["type"] == "value_not_in_list")
            #expect(error?["details"] == "latent: 'cat.png' not in ['blank.latent']")
            #expect(refused.json?["node_errors"]?["1"]?["class_type"] == "LoadLatent")

            // A list of models is not an input-folder list: an upload named like a model is still refused there.
            let model = try await fleet.conductor.post(
                "/prompt",
                [
                    "prompt": [
                        "1": ["class_type": "CheckpointLoaderSimple", "inputs": ["ckpt_name": "blank.latent"]],
                        "2": ["class_type": "VAEDecode", "inputs": ["samples": ["3", 0], "vae": ["1", 2]]],
                        "3": ["class_type": "EmptyLatentImage", "inputs": ["width": 64, "height": 64, "batch_size": 1]],
                        "4": ["class_type": "SaveImage", "inputs": ["images": ["2", 0], "filename_prefix": "x"]]
                    ]
                ])
            #expect(model.status == 400)
            #expect(model.json?["node_errors"]?["1"]?["errors"]?[0]?["type"] == "value_not_in_list")
        }
    }
}

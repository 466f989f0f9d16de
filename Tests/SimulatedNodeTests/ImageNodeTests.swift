import ComfyWire
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// LoadImage, ImageInvert and `/upload/mask` on real pixels: what goes in is checked against what comes out.
@Suite("Image nodes and masks on real pixels")
struct ImageNodeTests {
    /// LoadImage(`reference`) → ImageInvert → SaveImage.
    static func invertPrompt(_ reference: String) -> JSONValue {
        [
            "client_id": "pixels",
            "prompt": [
                "1": ["class_type": "LoadImage", "inputs": ["image": .string(reference)]],
                "2": ["class_type": "ImageInvert", "inputs": ["image": ["1", 0]]],
                "3": ["class_type": "SaveImage", "inputs": ["images": ["2", 0], "filename_prefix": "inverted"]]
            ]
        ]
    }

    @Test(
        "LoadImage → ImageInvert → SaveImage writes 255 minus every input pixel",
        arguments: [("", "gradient.png"), ("pasted", "pasted/gradient.png [input]")])
    func invertsEveryPixel(subfolder: String, reference: String) async throws {
        let source = Behaviour.gradient(width: 17, height: 9)
        try await withNode { _, client in
            let upload = try await client.upload("gradient.png", PNG.encode(source), fields: [("subfolder", subfolder)])
            #expect(upload.status == 200)
            let id = try await client.submit(Self.invertPrompt(reference))
            let entry = try await client.waitForHistory(id)
            #expect(entry["status"]?["status_str"] == "success")
            let image = try #require(entry["outputs"]?["3"]?["images"]?[0])
            let filename = try #require(image["filename"]?.stringValue)
            let folder = image["subfolder"]?.stringValue ?? ""
            let view = try await client.get("/view?filename=\(Behaviour.query(filename))&subfolder=\(Behaviour.query(folder))&type=output")
            #expect(view.status == 200)
            let output = try PNG.decode(view.body)
            #expect(output.width == source.width && output.height == source.height && output.channels == 3)
            #expect(output.pixels == source.pixels.map { 255 - $0 })
        }
    }

    @Test("LoadImage of a file that is not there is a 400 custom_validation_failed naming the file")
    func missingImageFailsValidation() async throws {
        try await withNode { _, client in
            let result = try await client.post("/prompt", Self.invertPrompt("not-uploaded.png"))
            #expect(result.status == 400)
            #expect(result.json?["error"]?["type"] == "prompt_outputs_failed_validation")
            let error = try #require(result.json?["node_errors"]?["1"]?["errors"]?[0])
            #expect(error["type"] == "custom_validation_failed")
            #expect(error["details"]?.stringValue?.contains("not-uploaded.png") == true, "\(error)")
            #expect(result.json?["node_errors"]?["1"]?["class_type"] == "LoadImage")
        }
    }

    @Test("/object_info/LoadImage lists an uploaded image")
    func uploadAppearsInObjectInfo() async throws {
        try await withNode { _, client in
            func listed() async throws -> [JSONValue] {
                try await client.get("/object_info/LoadImage").json?["LoadImage"]?["input"]?["required"]?["image"]?[0]?.arrayValue ?? []
            }
            #expect(try await listed().contains("fresh.png") == false)
            _ = try await client.upload("fresh.png", PNG.encode(RasterImage.solid(width: 2, height: 2, color: 0xFF0000)))
            #expect(try await listed().contains("fresh.png"))
        }
    }

    /// A mask whose alpha varies per pixel and whose colour channels carry a different pattern.
    static func mask(width: Int, height: Int) -> RasterImage {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width { pixels += [UInt8((x * 40) % 256), 200, 10, UInt8((x * 31 + y * 57) % 256)] }
        }
        return RasterImage(width: width, height: height, channels: 4, pixels: pixels)
    }

    /// Uploads `original.png` and then `mask` against it; returns the stored result, decoded.
    static func uploadMask(_ mask: RasterImage, over original: RasterImage, _ node: SimulatedNode, _ client: TestClient) async throws -> RasterImage {
        #expect(try await client.upload("original.png", PNG.encode(original)).status == 200)
        let reference: JSONValue = ["filename": "original.png", "subfolder": "", "type": "input"]
        let upload = try await client.upload(
            "clipspace-mask-1.png", PNG.encode(mask),
            fields: [("original_ref", reference.jsonString(.compact)), ("type", "input"), ("subfolder", "clipspace")],
            path: "/upload/mask")
        #expect(upload.status == 200)
        #expect(upload.json == ["name": "clipspace-mask-1.png", "subfolder": "clipspace", "type": "input"])
        let stored = node.files.directory(.input).appendingPathComponent("clipspace/clipspace-mask-1.png")
        return try PNG.decode(Array(try Data(contentsOf: stored)))
    }

    @Test("/upload/mask stores the original's colours with the mask's alpha")
    func maskAlphaBecomesTheAlpha() async throws {
        let original = Behaviour.gradient(width: 12, height: 7)
        let mask = Self.mask(width: 12, height: 7)
        try await withNode { node, client in
            let result = try await Self.uploadMask(mask, over: original, node, client)
            #expect(result.channels == 4 && result.width == 12 && result.height == 7)
            #expect(result.rgb.pixels == original.pixels)
            #expect(result.channel(3).pixels == mask.channel(3).pixels)
        }
    }

    @Test("/upload/mask with a mask that has no alpha channel leaves the image fully opaque, as PIL's convert('RGBA') does")
    func maskWithoutAlphaIsOpaque() async throws {
        let original = Behaviour.gradient(width: 6, height: 5)
        let mask = Behaviour.gradient(width: 6, height: 5)
        try await withNode { node, client in
            let result = try await Self.uploadMask(mask, over: original, node, client)
            #expect(result.channels == 4)
            #expect(result.rgb.pixels == original.pixels)
            #expect(result.channel(3).pixels.allSatisfy { $0 == 255 })
        }
    }
}

import ComfyWire
import ConductorCore
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

@testable import Conductor

/// Uploads, masks and output references through Conductor, with jobs landing on different simulated nodes:
/// every check is on what a client or an operator sees (names, statuses, pixels, files on disk).
@Suite("Files follow the job")
struct FilesFollowTheJobTests {
    static let sd15 = "v1-5-pruned-emaonly.safetensors"
    static let onlyB = "only-on-b.safetensors"

    static func solid(_ r: UInt8, _ g: UInt8, _ b: UInt8, size: Int = 8) -> [UInt8] {
        PNG.encode(RasterImage(width: size, height: size, channels: 3, pixels: (0..<(size * size)).flatMap { _ in [r, g, b] }))
    }

    /// LoadImage → SaveImage, plus (when given) a checkpoint loader that only pins the prompt to nodes holding it.
    static func copyPrompt(_ image: String, prefix: String, pin checkpoint: String? = nil) -> JSONValue {
        var prompt: JSONObject = [
            "1": ["class_type": "LoadImage", "inputs": ["image": .string(image)]],
            "2": ["class_type": "SaveImage", "inputs": ["filename_prefix": .string(prefix), "images": ["1", 0]]]
        ]
        if let checkpoint { prompt["3"] = ["class_type": "CheckpointLoaderSimple", "inputs": ["ckpt_name": .string(checkpoint)]] }
        return .object(prompt)
    }

    static func upload(
        _ client: TestClient, _ bytes: [UInt8], as name: String, fields: [(String, String)] = [],
        path: String = "/upload/image"
    ) async throws -> HTTPResult {
        try await client.multipart(path, fields: fields, file: ("image", name, bytes))
    }

    /// The first output image of a finished prompt, fetched through Conductor and decoded.
    static func output(of id: String, fleet: TestFleet) async throws -> RasterImage {
        let entry = try await fleet.conductor.waitForHistory(id)
        #expect(entry["status"]?["status_str"]?.stringValue == "success", "prompt \(id) failed: \(entry["status"] ?? .null)")
        let image = try #require(entry["outputs"]?.objectValue?.values.first?["images"]?[0])
        let query = "filename=\(image["filename"]?.stringValue ?? "")&subfolder=\(image["subfolder"]?.stringValue ?? "")&type=output"
        let view = try await fleet.conductor.get("/view?" + query)
        #expect(view.status == 200)
        return try PNG.decode(view.body)
    }

    /// The node's input files, without the probes Conductor puts there (one per extension of its uploads).
    static func inputFiles(of node: SimulatedNode) -> [String] {
        let root = node.files.directory(.input)
        let names = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? []
        return names.filter { !FileManager.default.isDirectory(root.appendingPathComponent($0)) && !$0.hasPrefix(Coordinator.probeStem + ".") }
            .sorted()
    }

    @Test("two clients upload different images under one name: each job, on its own node, outputs its own pixels")
    func sameNameDifferentBytes() async throws {
        // Each job is pinned to its own node by a checkpoint only that node has.
        let specs = [TestNodeSpec(.test("a", checkpoints: [Self.sd15])), TestNodeSpec(.test("b", checkpoints: [Self.onlyB]))]
        try await withFleet(specs) { fleet in
            let red = try await Self.upload(fleet.conductor, Self.solid(255, 0, 0), as: "photo.png")
            let blue = try await Self.upload(fleet.conductor, Self.solid(0, 0, 255), as: "photo.png")
            #expect(red.json == ["name": "photo.png", "subfolder": "", "type": "input"])
            #expect(blue.json == ["name": "photo (1).png", "subfolder": "", "type": "input"])
            let first = try await fleet.conductor.submit(["prompt": Self.copyPrompt("photo.png", prefix: "red", pin: Self.sd15), "client_id": "alice"]
            )
            let second = try await fleet.conductor.submit([
                "prompt": Self.copyPrompt("photo (1).png", prefix: "blue", pin: Self.onlyB), "client_id": "bob"
            ])
            let redOut = try await Self.output(of: first, fleet: fleet)
            let blueOut = try await Self.output(of: second, fleet: fleet)
            #expect(Array(redOut.rgb.pixels.prefix(3)) == [255, 0, 0])
            #expect(Array(blueOut.rgb.pixels.prefix(3)) == [0, 0, 255])
            let ranFirst = try await fleet.nodeThatRan(first), ranSecond = try await fleet.nodeThatRan(second)
            #expect(ranFirst != ranSecond)
            // Each node received exactly the one file its job read, under a content-derived name.
            for name in ["a", "b"] {
                let files = Self.inputFiles(of: fleet.node(name))
                #expect(files.count == 1 && files[0].hasPrefix("conductor-"), "node \(name) holds \(files)")
            }
            // History and the queue show the prompt as the client sent it.
            let entry = try await fleet.conductor.waitForHistory(first)
            #expect(entry["prompt"]?[2]?["1"]?["inputs"]?["image"] == "photo.png")
        }
    }

    @Test("a file goes to the chosen node only, and not again for a second job there")
    func sentOnce() async throws {
        let specs = [TestNodeSpec(.test("a", checkpoints: [Self.sd15])), TestNodeSpec(.test("b", checkpoints: [Self.sd15, Self.onlyB]))]
        try await withFleet(specs) { fleet in
            let bytes = Self.solid(10, 200, 30, size: 32)
            let name = try #require(try await Self.upload(fleet.conductor, bytes, as: "green.png").json?["name"]?.stringValue)
            let first = try await fleet.conductor.submit(["prompt": Self.copyPrompt(name, prefix: "one", pin: Self.onlyB)])
            _ = try await Self.output(of: first, fleet: fleet)
            let movedAfterFirst = await fleet.coordinator.bytesMoved
            let second = try await fleet.conductor.submit(["prompt": Self.copyPrompt(name, prefix: "two", pin: Self.onlyB)])
            let image = try await Self.output(of: second, fleet: fleet)
            #expect(Array(image.rgb.pixels.prefix(3)) == [10, 200, 30])
            #expect(movedAfterFirst == Int64(bytes.count))
            #expect(await fleet.coordinator.bytesMoved == Int64(bytes.count), "the second job must reuse the copy on b")
            #expect(Self.inputFiles(of: fleet.node("a")).isEmpty)
            #expect(Self.inputFiles(of: fleet.node("b")).count == 1)
        }
    }

    @Test("job 2 on node B reads job 1's output made on node A")
    func outputAsInput() async throws {
        let specs = [TestNodeSpec(.test("a", checkpoints: [Self.sd15])), TestNodeSpec(.test("b", checkpoints: [Self.onlyB]))]
        try await withFleet(specs) { fleet in
            let first = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.sd15)])
            #expect(try await fleet.nodeThatRan(first) == "a")
            let made = try await Self.output(of: first, fleet: fleet)
            let entry = try await fleet.conductor.waitForHistory(first)
            let image = try #require(entry["outputs"]?.objectValue?.values.first?["images"]?[0])
            // What the frontend puts in a LoadImage widget to re-use a result.
            let reference = "\(image["subfolder"]?.stringValue ?? "")/\(image["filename"]?.stringValue ?? "") [output]"
            let second = try await fleet.conductor.submit(["prompt": Self.copyPrompt(reference, prefix: "again", pin: Self.onlyB)])
            #expect(try await fleet.nodeThatRan(second) == "b")
            let copied = try await Self.output(of: second, fleet: fleet)
            #expect(copied.rgb == made.rgb)
        }
    }

    @Test("a mask upload puts the mask's alpha into the original, as ComfyUI does")
    func maskComposited() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.sd15]))]) { fleet in
            let original = try await Self.upload(fleet.conductor, Self.solid(200, 100, 50, size: 4), as: "portrait.png")
            #expect(original.status == 200)
            let alpha: [UInt8] = (0..<16).map { UInt8($0 * 16) }
            let mask = PNG.encode(RasterImage(width: 4, height: 4, channels: 4, pixels: alpha.flatMap { [0, 0, 0, $0] }))
            let answer = try await Self.upload(
                fleet.conductor, mask, as: "clipspace-mask-1.png",
                fields: [
                    ("type", "input"), ("subfolder", "clipspace"),
                    ("original_ref", #"{"filename":"portrait.png","subfolder":"","type":"input"}"#)
                ],
                path: "/upload/mask")
            #expect(answer.status == 200)
            #expect(answer.json == ["name": "clipspace-mask-1.png", "subfolder": "clipspace", "type": "input"])
            let view = try await fleet.conductor.get("/view?filename=clipspace-mask-1.png&subfolder=clipspace&type=input")
            #expect(view.status == 200)
            let composed = try PNG.decode(view.body)
            #expect(composed.channels == 4)
            #expect(composed.channel(3).pixels == alpha)
            #expect(Array(composed.rgb.pixels.prefix(3)) == [200, 100, 50])
            // The composed file is usable as an input, as the mask editor's widget value names it.
            let id = try await fleet.conductor.submit(["prompt": Self.copyPrompt("clipspace/clipspace-mask-1.png [input]", prefix: "masked")])
            let out = try await Self.output(of: id, fleet: fleet)
            #expect(Array(out.rgb.pixels.prefix(3)) == [200, 100, 50])
        }
    }

    @Test("a mask whose original output is missing on its node answers as ComfyUI does for a missing original: 200, nothing kept")
    func maskOfMissingOutput() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.sd15]))]) { fleet in
            let mask = PNG.encode(RasterImage(width: 2, height: 2, channels: 4, pixels: [UInt8](repeating: 128, count: 16)))
            let answer = try await Self.upload(
                fleet.conductor, mask, as: "clipspace-mask-2.png",
                fields: [
                    ("type", "input"), ("subfolder", "clipspace"),
                    ("original_ref", #"{"filename":"never-made.png","subfolder":"a","type":"output"}"#)
                ],
                path: "/upload/mask")
            #expect(answer.status == 200)
            #expect(answer.json == ["name": "clipspace-mask-2.png", "subfolder": "clipspace", "type": "input"])
            #expect(try await fleet.conductor.get("/view?filename=clipspace-mask-2.png&subfolder=clipspace&type=input").status == 404)
        }
    }

    @Test("uploads are named as one ComfyUI server names them, listed in LoadImage, and served by /view")
    func uploadNaming() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.sd15]))]) { fleet in
            let bytes = Self.solid(1, 2, 3)
            #expect(try await Self.upload(fleet.conductor, bytes, as: "x.png").json?["name"] == "x.png")
            #expect(try await Self.upload(fleet.conductor, bytes, as: "x.png").json?["name"] == "x.png")
            #expect(try await Self.upload(fleet.conductor, Self.solid(9, 9, 9), as: "x.png").json?["name"] == "x (1).png")
            #expect(try await Self.upload(fleet.conductor, Self.solid(9, 9, 9), as: "x.png").json?["name"] == "x (1).png")
            let replaced = try await Self.upload(fleet.conductor, Self.solid(7, 7, 7), as: "x.png", fields: [("overwrite", "true")])
            #expect(replaced.json?["name"] == "x.png")
            let pasted = try await Self.upload(fleet.conductor, bytes, as: "image.png", fields: [("subfolder", "pasted")])
            #expect(pasted.json == ["name": "image.png", "subfolder": "pasted", "type": "input"])
            let temp = try await Self.upload(fleet.conductor, bytes, as: "t.png", fields: [("type", "temp")])
            #expect(temp.json == ["name": "t.png", "subfolder": "", "type": "temp"])

            let view = try await fleet.conductor.get("/view?filename=x.png&type=input")
            #expect(view.status == 200)
            #expect(view.body == Self.solid(7, 7, 7))
            #expect(view.header("Content-Type") == "image/png")
            #expect(view.header("Content-Disposition") == "filename=\"x.png\"")
            #expect(try await fleet.conductor.get("/view?filename=image.png&type=input&subfolder=pasted").body == bytes)
            #expect(try await fleet.conductor.get("/view?filename=t.png [temp]").body == bytes)
            // LoadImage's combo lists the top-level input images, in Python's order.
            let info = try await fleet.conductor.get("/object_info/LoadImage").json
            #expect(info?["LoadImage"]?["input"]?["required"]?["image"]?[0] == ["x (1).png", "x.png"])
        }
    }

    @Test("a prompt naming a file nobody has is refused as ComfyUI refuses it")
    func missingFile() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.sd15]))]) { fleet in
            let result = try await fleet.conductor.post("/prompt", ["prompt": Self.copyPrompt("nowhere.png", prefix: "x")])
            #expect(result.status == 400)
            let error = result.json?["node_errors"]?["1"]?["errors"]?[0]
            #expect(error?["type"] == "custom_validation_failed")
            #expect(error?["details"] == "image - Invalid image file: nowhere.png")
            #expect(try await fleet.conductor.get("/queue").json == ["queue_running": [], "queue_pending": []])
        }
    }

    @Test("bad uploads are refused and leave nothing behind")
    func badUploads() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.sd15]))], configure: { $0.files.maxUploadBytes = 4096 }) { fleet in
            let store = fleet.coordinator.files.directory
            let bytes = Self.solid(5, 5, 5)
            let escapes = ["..", "../x", "a/../../x", "/etc", "/", "a\\..\\..", "a\0b", "%2e%2e/x/../../.."]
            for subfolder in escapes where UploadNaming.normalizedSubfolder(subfolder) == nil {
                let result = try await Self.upload(fleet.conductor, bytes, as: "ok.png", fields: [("subfolder", subfolder)])
                #expect(result.status == 400, "subfolder \(subfolder.debugDescription) was accepted")
            }
            for name in ["../evil.png", "a/b.png", "..", "x\\y.png", "nul\0.png", ""] {
                let result = try await Self.upload(fleet.conductor, bytes, as: name)
                #expect(result.status == 400, "file name \(name.debugDescription) was accepted")
            }
            for type in ["../input", "models", "", "INPUT"] {
                let result = try await Self.upload(fleet.conductor, bytes, as: "ok.png", fields: [("type", type)])
                #expect(result.status == 400, "type \(type.debugDescription) was accepted")
            }
            let big = try await Self.upload(fleet.conductor, [UInt8](repeating: 7, count: 10_000), as: "big.png")
            #expect(big.status == 413)
            let truncated = try await fleet.conductor.multipart("/upload/image", file: ("image", "cut.png", bytes), truncate: 150)
            #expect(truncated.status == 400)
            let noFile = try await fleet.conductor.multipart("/upload/image", fields: [("overwrite", "true")])
            #expect(noFile.status == 400)
            // No blob, no partial file, no name.
            let left =
                FileManager.default.enumerator(atPath: store.path)?.compactMap { $0 as? String }
                .filter { !FileManager.default.isDirectory(store.appendingPathComponent($0)) } ?? []
            #expect(left.isEmpty, "left behind: \(left)")
            #expect(try await fleet.conductor.get("/view?filename=big.png&type=input").status == 404)
            // /view's own checks.
            #expect(try await fleet.conductor.get("/view?filename=../x.png&type=input").status == 400)
            #expect(try await fleet.conductor.get("/view?filename=x.png&type=input&subfolder=../..").status == 403)
            #expect(try await fleet.conductor.get("/view?filename=x.png&type=models").status == 400)
            // A good upload still works afterwards.
            #expect(try await Self.upload(fleet.conductor, bytes, as: "ok.png").status == 200)
        }
    }

    /// A sampling prompt that also names a file in a LoadImage no output depends on: ComfyUI never runs it, but
    /// Conductor still delivers the file, so the job holds it for as long as it is unfinished.
    static func holding(_ image: String, prefix: String) -> JSONValue {
        guard case .object(var prompt) = TestFleet.prompt(checkpoint: sd15, prefix: prefix) else { return .null }
        prompt["20"] = ["class_type": "LoadImage", "inputs": ["image": .string(image)]]
        return .object(prompt)
    }

    static func bytes(_ seed: UInt8, count: Int = 1500) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7) ^ seed } }

    @Test("the store keeps within its size limit, least recently used first, never what an unfinished job reads")
    func storeRetention() async throws {
        try await withFleet(
            [TestNodeSpec(.test("a", checkpoints: [Self.sd15]), maxOutstanding: 1)],
            configure: { $0.files.storeMaxBytes = 3200 }
        ) { fleet in
            #expect(try await Self.upload(fleet.conductor, Self.bytes(1), as: "old.bin").status == 200)
            #expect(try await Self.upload(fleet.conductor, Self.bytes(2), as: "middle.bin").status == 200)
            await fleet.node("a").inject(.hang(true))
            let id = try await fleet.conductor.submit(["prompt": Self.holding("old.bin", prefix: "held")])
            try await eventually("the job running") {
                try await fleet.direct("a").get("/queue").json?["queue_running"]?.arrayValue?.count == 1
            }
            // Over the limit: middle.bin goes, although old.bin is older, because a running job reads old.bin.
            #expect(try await Self.upload(fleet.conductor, Self.bytes(3), as: "new.bin").status == 200)
            #expect(try await fleet.conductor.get("/view?filename=old.bin&type=input").body == Self.bytes(1))
            #expect(try await fleet.conductor.get("/view?filename=middle.bin&type=input").status == 404)
            #expect(try await fleet.conductor.get("/view?filename=new.bin&type=input").body == Self.bytes(3))
            await fleet.node("a").inject(.hang(false))
            #expect(try await fleet.conductor.waitForHistory(id)["status"]?["status_str"] == "success")
            // Finished, old.bin is the least recently used: the next upload evicts it.
            #expect(try await Self.upload(fleet.conductor, Self.bytes(4), as: "newer.bin").status == 200)
            #expect(try await fleet.conductor.get("/view?filename=old.bin&type=input").status == 404)
            #expect(try await fleet.conductor.get("/view?filename=newer.bin&type=input").status == 200)
        }
    }

    @Test("copies on a node stay within its limit: old ones are emptied, and sent again when a job needs them")
    func nodeCopyRetention() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.sd15]))], configure: { $0.files.nodeMaxBytes = 2000 }) { fleet in
            for (seed, name) in [(UInt8(1), "x.bin"), (2, "y.bin")] {
                #expect(try await Self.upload(fleet.conductor, Self.bytes(seed), as: name).status == 200)
            }
            func sizes() -> [Int] {
                let root = fleet.node("a").files.directory(.input)
                return Self.inputFiles(of: fleet.node("a")).map {
                    ((try? FileManager.default.attributesOfItem(atPath: root.appendingPathComponent($0).path)[.size]) as? Int) ?? -1
                }.sorted()
            }
            let first = try await fleet.conductor.submit(["prompt": Self.holding("x.bin", prefix: "x")])
            _ = try await fleet.conductor.waitForHistory(first)
            #expect(sizes() == [1500])
            let second = try await fleet.conductor.submit(["prompt": Self.holding("y.bin", prefix: "y")])
            _ = try await fleet.conductor.waitForHistory(second)
            #expect(sizes() == [1, 1500], "x's copy is emptied once y's pushes the node over 2000 bytes")
            let third = try await fleet.conductor.submit(["prompt": Self.holding("x.bin", prefix: "x2")])
            #expect(try await fleet.conductor.waitForHistory(third)["status"]?["status_str"] == "success")
            #expect(sizes() == [1, 1500], "x is sent again, and y's copy, now the oldest, is emptied")
            #expect(await fleet.coordinator.bytesMoved == 3 * 1500)
        }
    }

    @Test("a node that lost a delivered copy (input directory wiped) gets it again instead of failing the job")
    func lostCopy() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.sd15]))]) { fleet in
            let name = try #require(try await Self.upload(fleet.conductor, Self.solid(40, 50, 60), as: "kept.png").json?["name"]?.stringValue)
            let first = try await fleet.conductor.submit(["prompt": Self.copyPrompt(name, prefix: "first")])
            _ = try await Self.output(of: first, fleet: fleet)
            let input = fleet.node("a").files.directory(.input)
            for file in Self.inputFiles(of: fleet.node("a")) { try FileManager.default.removeItem(at: input.appendingPathComponent(file)) }
            let second = try await fleet.conductor.submit(["prompt": Self.copyPrompt(name, prefix: "second")])
            let image = try await Self.output(of: second, fleet: fleet)
            #expect(Array(image.rgb.pixels.prefix(3)) == [40, 50, 60])
            #expect(Self.inputFiles(of: fleet.node("a")).count == 1)
        }
    }

    @Test("file names nested in dict inputs (Load3D's image dict) are rewritten; links and other strings are not")
    func nestedRewrite() {
        let prompt: JSONValue = [
            "1": [
                "class_type": "Load3D",
                "inputs": [
                    "model_file": "3d/chair.glb", "width": 512,
                    "image": ["image": "threed/shot.png [temp]", "mask": "threed/mask.png [temp]", "normal": ""]
                ]
            ],
            "2": ["class_type": "SaveImage", "inputs": ["images": ["1", 0], "filename_prefix": "3d/chair.glb"]]
        ]
        let map = ["3d/chair.glb": "3d/conductor-0123456789abcdef.glb", "threed/shot.png [temp]": "threed/conductor-aaaaaaaaaaaaaaaa.png [input]"]
        let rewritten = Coordinator.replacingStrings(in: prompt, map)
        #expect(rewritten["1"]?["inputs"]?["model_file"] == "3d/conductor-0123456789abcdef.glb")
        #expect(rewritten["1"]?["inputs"]?["image"]?["image"] == "threed/conductor-aaaaaaaaaaaaaaaa.png [input]")
        #expect(rewritten["1"]?["inputs"]?["image"]?["mask"] == "threed/mask.png [temp]")
        #expect(rewritten["2"]?["inputs"]?["images"] == ["1", 0])
        #expect(rewritten["1"]?["class_type"] == "Load3D")
    }
}

extension FileManager {
    func isDirectory(_ url: URL) -> Bool {
        var flag: ObjCBool = false
        return fileExists(atPath: url.path, isDirectory: &flag) && flag.boolValue
    }
}

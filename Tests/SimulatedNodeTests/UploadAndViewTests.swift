import ComfyWire
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// `POST /upload/image` naming, placement and refusals, and `GET /view` resolution, as ComfyUI does them.
@Suite("Uploads and /view")
struct UploadAndViewTests {
    static let first = Array("first image bytes".utf8)
    static let second = Array("second image bytes".utf8)
    static let third = Array("third image bytes".utf8)

    static func fileIdentity(_ url: URL) throws -> Int? {
        try FileManager.default.attributesOfItem(atPath: url.path)[.systemFileNumber] as? Int
    }

    // MARK: Naming

    @Test("the same name with the same bytes keeps the name and leaves the stored file untouched")
    func sameBytesReuseTheName() async throws {
        try await withNode { node, client in
            let files = node.files
            let stored = files.directory(.input).appendingPathComponent("photo.png")
            let upload = try await client.upload("photo.png", Self.first)
            #expect(upload.status == 200)
            #expect(upload.json == ["name": "photo.png", "subfolder": "", "type": "input"])
            let identity = try Self.fileIdentity(stored)
            let before = Behaviour.tree(files.root)

            let again = try await client.upload("photo.png", Self.first)
            #expect(again.json?["name"] == "photo.png")
            #expect(try Self.fileIdentity(stored) == identity, "the file was rewritten")
            #expect(Behaviour.tree(files.root) == before)
        }
    }

    @Test("other bytes under a taken name are stored as \"name (1).png\", then \"name (2).png\"")
    func otherBytesGetNumberedNames() async throws {
        try await withNode { node, client in
            let files = node.files
            let input = files.directory(.input)
            // The last upload repeats the second bytes: the earlier identical "photo (1).png" is reused.
            let uploads = [(Self.first, "photo.png"), (Self.second, "photo (1).png"), (Self.third, "photo (2).png"), (Self.second, "photo (1).png")]
            for (bytes, expected) in uploads {
                let upload = try await client.upload("photo.png", bytes)
                #expect(upload.json?["name"] == .string(expected))
            }
            for (bytes, name) in uploads.prefix(3) {
                let stored = try Data(contentsOf: input.appendingPathComponent(name))
                #expect(stored == Data(bytes), "\(name)")
            }
            #expect(!FileManager.default.fileExists(atPath: input.appendingPathComponent("photo (3).png").path))
        }
    }

    @Test("overwrite \"true\" or \"1\" keeps the name and replaces the bytes; any other value does not")
    func overwriteReplaces() async throws {
        try await withNode { node, client in
            let files = node.files
            let stored = files.directory(.input).appendingPathComponent("photo.png")
            _ = try await client.upload("photo.png", Self.first)
            let replaced = try await client.upload("photo.png", Self.second, fields: [("overwrite", "true")])
            #expect(replaced.json?["name"] == "photo.png")
            #expect(try Data(contentsOf: stored) == Data(Self.second))
            _ = try await client.upload("photo.png", Self.third, fields: [("overwrite", "1")])
            #expect(try Data(contentsOf: stored) == Data(Self.third))

            let notOverwrite = try await client.upload("photo.png", Self.first, fields: [("overwrite", "yes")])
            #expect(notOverwrite.json?["name"] == "photo (1).png")
            #expect(try Data(contentsOf: stored) == Data(Self.third))
        }
    }

    // MARK: Placement

    @Test("a subfolder is created and echoed")
    func subfolderIsCreated() async throws {
        try await withNode { node, client in
            let files = node.files
            let upload = try await client.upload("photo.png", Self.first, fields: [("subfolder", "pasted/deep")])
            #expect(upload.status == 200)
            #expect(upload.json == ["name": "photo.png", "subfolder": "pasted/deep", "type": "input"])
            let stored = files.directory(.input).appendingPathComponent("pasted/deep/photo.png")
            #expect(try Data(contentsOf: stored) == Data(Self.first))
        }
    }

    @Test("type=temp stores the file in the temp directory and type=output in the output directory")
    func typeChoosesTheDirectory() async throws {
        try await withNode { node, client in
            let files = node.files
            let temp = try await client.upload("scratch.png", Self.first, fields: [("type", "temp")])
            #expect(temp.json == ["name": "scratch.png", "subfolder": "", "type": "temp"])
            #expect(try Data(contentsOf: files.directory(.temp).appendingPathComponent("scratch.png")) == Data(Self.first))
            #expect(!FileManager.default.fileExists(atPath: files.directory(.input).appendingPathComponent("scratch.png").path))

            let output = try await client.upload("result.png", Self.second, fields: [("type", "output")])
            #expect(output.json?["type"] == "output")
            #expect(try Data(contentsOf: files.directory(.output).appendingPathComponent("result.png")) == Data(Self.second))
        }
    }

    // MARK: Refusals

    @Test("an unknown or empty type is a 500 and writes nothing", arguments: ["bogus", ""])
    func unknownType(type: String) async throws {
        try await withNode { node, client in
            let files = node.files
            let before = Behaviour.tree(files.root)
            let upload = try await client.upload("photo.png", Self.first, fields: [("type", type)])
            #expect(upload.status == 500)
            #expect(Behaviour.tree(files.root) == before)
        }
    }

    @Test("a request without an image part, or with an empty file name, is a 400")
    func missingImagePart() async throws {
        try await withNode { node, client in
            let files = node.files
            let before = Behaviour.tree(files.root)
            let noFile = try await MultipartBody(fields: [("type", "input")]).post(client, "/upload/image")
            let otherField = try await MultipartBody(file: ("file", "photo.png", Self.first)).post(client, "/upload/image")
            let emptyName = try await client.upload("", Self.first)
            #expect(noFile.status == 400)
            #expect(otherField.status == 400)
            #expect(emptyName.status == 400)
            #expect(Behaviour.tree(files.root) == before)
        }
    }

    /// A path that would leave the upload directory, as a subfolder or inside the file name.
    struct Escape: Sendable, CustomTestStringConvertible {
        var subfolder: String?
        /// Put in front of the file name.
        var namePrefix: String
        var label: String
        var testDescription: String { label }
    }

    static let escapes: [Escape] = [
        Escape(subfolder: "../..", namePrefix: "", label: "subfolder ../.."),
        Escape(subfolder: "pasted/../../..", namePrefix: "", label: "subfolder pasted/../../.."),
        Escape(subfolder: nil, namePrefix: "../", label: "filename ../name"),
        Escape(subfolder: nil, namePrefix: "..\\", label: "filename with a backslash"),
        Escape(subfolder: "/tmp", namePrefix: "", label: "absolute subfolder")
    ]

    @Test("a path escape is a 400 and no file appears anywhere", arguments: escapes)
    func pathEscapesAreRefused(escape: Escape) async throws {
        try await withNode { node, client in
            let files = node.files
            let name = "escape-\(UUID().uuidString).png"
            let before = Behaviour.tree(files.root)
            let fields = escape.subfolder.map { [("subfolder", $0)] } ?? []
            let upload = try await client.upload(escape.namePrefix + name, Self.first, fields: fields)
            #expect(upload.status == 400)
            #expect(Behaviour.tree(files.root) == before)
            for folder in [files.root, files.root.deletingLastPathComponent(), URL(fileURLWithPath: "/tmp")] {
                #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), "written to \(folder.path)")
            }
        }
    }

    @Test("a body over max_upload_size is a 413 and writes nothing")
    func oversizeBody() async throws {
        var profile = NodeProfile.test
        profile.maxUploadBytes = 1000
        try await withNode(profile) { node, client in
            let files = node.files
            let before = Behaviour.tree(files.root)
            let upload = try await client.upload("big.png", [UInt8](repeating: 7, count: 4000))
            #expect(upload.status == 413)
            #expect(Behaviour.tree(files.root) == before)
            #expect(try await client.upload("small.png", Self.first).status == 200, "a body under the limit is still accepted")
        }
    }

    @Test("max_upload_size limits JSON bodies too: an oversize POST /prompt is a 413 and queues nothing")
    func oversizePrompt() async throws {
        var profile = NodeProfile.test
        profile.maxUploadBytes = 1000
        try await withNode(profile) { _, client in
            let padded = Behaviour.quickJob(color: 1).setting(["extra_data", "padding"], to: .string(String(repeating: "x", count: 4000)))
            let result = try await client.post("/prompt", padded)
            #expect(result.status == 413)
            #expect(try await client.get("/queue").json == ["queue_running": [], "queue_pending": []])
            #expect(try await client.get("/history").json == [:])
        }
    }

    @Test("a multipart body cut off inside the file part is an error and writes nothing")
    func truncatedBody() async throws {
        try await withNode { node, client in
            let files = node.files
            let before = Behaviour.tree(files.root)
            let body = MultipartBody(fields: [("subfolder", "cut")], file: ("image", "cut.png", [UInt8](repeating: 9, count: 600)))
            let range = try #require(body.fileBytes)
            let upload = try await body.post(client, "/upload/image", prefix: range.lowerBound + range.count / 2)
            #expect(upload.status != 200)
            #expect(upload.status >= 400)
            #expect(Behaviour.tree(files.root) == before)
        }
    }

    // MARK: /view

    /// An output file and an input file with the same name and different bytes.
    static func twoFilesNamedAlike(_ client: TestClient) async throws {
        _ = try await client.upload("same.png", first, fields: [("type", "output")])
        _ = try await client.upload("same.png", second, fields: [("type", "input")])
        _ = try await client.upload("nested.png", third, fields: [("type", "output"), ("subfolder", "sub")])
    }

    @Test("/view reads the output directory by default and an [input] annotation overrides type")
    func viewTypeAndAnnotation() async throws {
        try await withNode { _, client in
            try await Self.twoFilesNamedAlike(client)
            let output = try await client.get("/view?filename=same.png")
            #expect(output.status == 200 && output.body == Self.first)
            #expect(output.header("Content-Disposition") == "filename=\"same.png\"")
            #expect(try await client.get("/view?filename=same.png&type=input").body == Self.second)
            let annotated = try await client.get("/view?filename=\(Behaviour.query("same.png [input]"))&type=output")
            #expect(annotated.status == 200 && annotated.body == Self.second)
            #expect(annotated.header("Content-Disposition") == "filename=\"same.png\"")
        }
    }

    @Test("/view ignores directory parts of filename and uses subfolder")
    func viewUsesTheBasename() async throws {
        try await withNode { _, client in
            try await Self.twoFilesNamedAlike(client)
            #expect(try await client.get("/view?filename=\(Behaviour.query("anything/else/same.png"))").body == Self.first)
            let nested = try await client.get("/view?filename=\(Behaviour.query("other/nested.png"))&subfolder=sub")
            #expect(nested.status == 200 && nested.body == Self.third)
            #expect(try await client.get("/view?filename=\(Behaviour.query("sub/nested.png"))").status == 404)
        }
    }

    @Test("/view answers 400 for ../ in filename or a bad type, 403 for an escaping subfolder, 404 for a missing file")
    func viewRefusals() async throws {
        try await withNode { _, client in
            try await Self.twoFilesNamedAlike(client)
            #expect(try await client.get("/view?filename=\(Behaviour.query("../same.png"))").status == 400)
            #expect(try await client.get("/view?filename=\(Behaviour.query("/etc/passwd"))").status == 400)
            #expect(try await client.get("/view?filename=same.png&subfolder=\(Behaviour.query("../.."))").status == 403)
            #expect(try await client.get("/view?filename=same.png&type=bogus").status == 400)
            #expect(try await client.get("/view?filename=missing.png").status == 404)
            #expect(try await client.get("/view").status == 404)
        }
    }
}

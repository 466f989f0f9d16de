import ComfyWire
import ConductorTesting
import Foundation
import NIOHTTP1
import SimulatedNode
import Testing

/// Replays every recorded HTTP exchange of a real ComfyUI v0.8.0 against a simulated node, after
/// bringing the node into the state the recording was taken in, and compares what a client sees.
@Suite("HTTP conformance with recorded ComfyUI traffic")
struct HTTPConformanceTests {
    static let successID = "531fb06c-6a2c-4ae5-8abf-1b08a84c224f"
    static let failID = "7c13b012-0344-4307-a735-9ef3ee1b3e8c"
    static let longID = "fc101c02-f845-430c-8d5f-cd1a03760509"
    static let long2ID = "edced396-5b37-42f6-bb7f-8f9354799469"
    static let frontID = "08a35498-8d1f-45d6-be4c-aa1e7d09f956"
    static let uploadName = "acceptance-upload-e044eb.png"

    /// The recorded request body of a scenario, with a chosen prompt_id.
    static func recordedPrompt(_ scenario: String, id: String) -> JSONValue {
        guard case .object(var body)? = Recordings.http(scenario)["request"]?["json"] else { return .null }
        body["prompt_id"] = .string(id)
        return .object(body)
    }

    /// The long-running job the recording had running during the "busy" scenarios.
    static var longPrompt: JSONValue {
        let running = Recordings.http("queue-running-and-pending")["response"]?["body"]?["queue_running"]?[0]
        return ["prompt": running?[2] ?? .null, "client_id": "acceptance-http-client", "prompt_id": .string(longID)]
    }

    static func runToCompletion(_ client: TestClient, _ body: JSONValue) async throws {
        let id = try await client.submit(body)
        _ = try await client.waitForHistory(id)
    }

    /// The long job running (held by a hang fault), the second long job and the front job pending.
    static func busy(_ node: SimulatedNode, _ client: TestClient) async throws {
        await node.inject(.hang(true))
        try await client.submit(longPrompt)
        try await eventually {
            let running = try await client.get("/queue").json?["queue_running"]?.arrayValue?.count
            return running == 1
        }
        try await client.submit(recordedPrompt("prompt-post-long-2", id: long2ID))
        try await client.submit(recordedPrompt("prompt-post-front", id: frontID))
    }

    static func uploadInputs(_ client: TestClient) async throws {
        for name in ["acceptance-mask.png", "acceptance-rgb.png"] {
            let png = PNG.encode(RasterImage.solid(width: 8, height: 8, color: 0x336699))
            _ = try await client.multipart("/upload/image", file: ("image", name, png))
        }
    }

    static func upload(_ client: TestClient, bytes: Int, overwrite: Bool = false) async throws {
        _ = try await client.multipart(
            "/upload/image", fields: overwrite ? [("overwrite", "true")] : [],
            file: ("image", uploadName, Recordings.uploadBytes(count: bytes)))
    }

    /// Brings a fresh node into the state a scenario was recorded in.
    static func prepare(_ scenario: String, _ node: SimulatedNode, _ client: TestClient) async throws {
        try await uploadInputs(client)
        switch scenario {
        case "history-success", "api-jobs-by-id-success", "view-output-image":
            try await runToCompletion(client, recordedPrompt("prompt-post-success", id: successID))
        case "history-error", "api-jobs-by-id-error":
            try await runToCompletion(client, recordedPrompt("prompt-post-success", id: successID))
            try await runToCompletion(client, recordedPrompt("prompt-post-fail-on-purpose", id: failID))
        case "history-list-max2", "api-jobs-idle":
            // The recorded session: a success, a failure, then two long jobs interrupted while running.
            try await runToCompletion(client, recordedPrompt("prompt-post-success", id: successID))
            try await runToCompletion(client, recordedPrompt("prompt-post-fail-on-purpose", id: failID))
            try await busy(node, client)
            _ = try await client.post("/queue", ["delete": [.string(long2ID)]])
            _ = try await client.post("/interrupt", ["prompt_id": .string(longID)])
            _ = try await client.waitForHistory(longID)
            try await eventually { try await client.get("/queue").json?["queue_running"]?[0]?[1]?.stringValue == frontID }
            _ = try await client.request(.POST, "/interrupt")
            _ = try await client.waitForHistory(frontID)
        case "queue-running-and-pending", "prompt-get-busy", "api-jobs-busy", "api-jobs-by-id-running",
            "api-jobs-by-id-pending", "history-of-running-job", "queue-delete-pending", "interrupt-targeted-not-running",
            "interrupt-targeted-running":
            try await busy(node, client)
        case "queue-after-delete":
            try await busy(node, client)
            _ = try await client.post("/queue", ["delete": [.string(long2ID)]])
        case "history-interrupted":
            try await busy(node, client)
            _ = try await client.post("/interrupt", ["prompt_id": .string(longID)])
            await node.inject(.hang(false))
            _ = try await client.waitForHistory(longID)
        case "prompt-post-long-2", "prompt-post-front":
            await node.inject(.hang(true))
            try await client.submit(longPrompt)
        case "upload-image-same-name-same-content", "upload-image-same-name-other-content", "upload-image-overwrite-true":
            try await upload(client, bytes: 80)
        case "upload-image-same-name-other-content-again":
            try await upload(client, bytes: 80)
            try await upload(client, bytes: 82)
        case "view-uploaded-input":
            try await upload(client, bytes: 82)
        case "object_info-LoadImage-after-upload":
            try await upload(client, bytes: 80)
            try await upload(client, bytes: 82)
            try await upload(client, bytes: 81)
        default:
            break
        }
    }

    /// Sends a recording's request as the recorder sent it.
    static func replay(_ request: JSONValue, _ client: TestClient) async throws -> HTTPResult {
        let method = HTTPMethod(rawValue: request["method"]?.stringValue ?? "GET")
        let path = request["path"]?.stringValue ?? "/"
        if case .object(let form)? = request["multipart_form"] {
            var fields: [(String, String)] = []
            var file: (String, String, [UInt8])?
            for (name, value) in form {
                if case .object(let part) = value {
                    file = (name, part["filename"]?.stringValue ?? "", Recordings.uploadBytes(count: part["bytes"]?.intValue ?? 0))
                } else {
                    fields.append((name, value.stringValue ?? ""))
                }
            }
            return try await client.multipart(path, fields: fields, file: file)
        }
        if let json = request["json"] { return try await client.request(method, path, json: json) }
        if let raw = request["raw_body"]?.stringValue { return try await client.request(method, path, raw: Array(raw.utf8)) }
        return try await client.request(method, path)
    }

    /// Where the simulated node differs from the recorded CPU-only server on purpose.
    static let intendedDifferences: [String: [String]] = [
        // It simulates a CUDA GPU (name, "cuda", index 0) where the recording ran on a CPU.
        "system_stats": ["$.devices[0]."],
        "api-prefix-system_stats": ["$.devices[0]."],
        // The recorded server had no models installed; the test profile has checkpoints and a LoRA.
        "models-checkpoints": ["$: expected 0 items"],
        "models-loras": ["$: expected 0 items"],
        // Frontend extension scripts are listed only when a web root (the frontend package) is configured.
        "extensions": ["$: expected 20 items, got 0"]
    ]

    @Test("each recorded HTTP exchange", arguments: Recordings.httpScenarios)
    func recordedExchange(scenario: String) async throws {
        let recording = Recordings.http(scenario)
        guard let response = recording["response"], let expectedStatus = response["status"]?.intValue else {
            return  // object_info-all-summary stores only a node list; covered by the catalog test below
        }
        try await withNode { node, client in
            try await Self.prepare(scenario, node, client)
            let result = try await Self.replay(recording["request"] ?? .null, client)
            #expect(result.status == expectedStatus, "\(scenario): status \(result.status), body \(result.text.prefix(300))")
            let headers = response["headers"]?.objectValue ?? [:]
            if let contentType = headers["Content-Type"]?.stringValue {
                #expect(result.header("Content-Type") == contentType, "\(scenario): Content-Type")
            }
            if let disposition = headers["Content-Disposition"]?.stringValue {
                #expect(result.header("Content-Disposition") == disposition, "\(scenario): Content-Disposition")
            }
            switch response["body"] {
            case .object?, .array?:
                let actual = try #require(result.json, "\(scenario): body is not JSON: \(result.text.prefix(200))")
                let differences = Shape.differences(expected: response["body"]!, actual: actual)
                    .filter { difference in !(Self.intendedDifferences[scenario] ?? []).contains { difference.hasPrefix($0) } }
                #expect(differences.isEmpty, "\(scenario): \(differences.joined(separator: "; "))")
            case .string(let text)?:
                #expect(result.text == text, "\(scenario): body")
            default:
                if headers["Content-Length"]?.stringValue == "0" { #expect(result.body.isEmpty, "\(scenario): empty body") }
            }
            await node.inject(.hang(false))
        }
    }

    @Test("object_info lists the recorded core and acceptance classes the simulator implements")
    func objectInfoCatalog() async throws {
        let recorded = Set(Recordings.http("object_info-all-summary")["response"]?["node_names"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        try await withNode { _, client in
            let info = try #require(try await client.get("/object_info").json?.objectValue)
            #expect(!info.isEmpty)
            for name in info.keys {
                #expect(recorded.contains(name), "\(name) is not a class a real ComfyUI v0.8.0 has")
            }
            for name in [
                "CheckpointLoaderSimple", "CLIPTextEncode", "EmptyLatentImage", "KSampler", "VAEDecode", "SaveImage",
                "PreviewImage", "LoadImage", "LoadImageMask", "ImageInvert", "EmptyImage", "LoraLoader",
                "AcceptanceWork", "AcceptanceFail"
            ] {
                #expect(info[name] != nil, "missing \(name)")
            }
        }
    }
}

import ComfyWire
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// Replays every recorded WebSocket scenario of a real ComfyUI v0.8.0 against a simulated node and
/// compares, per client, the order of the messages it receives.
@Suite("WebSocket conformance with recorded ComfyUI traffic")
struct WebSocketConformanceTests {
    struct ClientSpec: Sendable {
        let name: String
        let clientID: String
        let featureFlags: JSONObject?
        let expected: [ReceivedFrame]
    }

    static func clients(_ recording: JSONValue) -> [ClientSpec] {
        (recording["clients"]?.objectValue ?? [:]).map { name, client in
            let frames: [ReceivedFrame] = (client["messages"]?.arrayValue ?? []).map { entry in
                if entry["frame"]?.stringValue == "binary" {
                    let event = UInt8(entry["event_type"]?.intValue ?? 0)
                    return .binary([0, 0, 0, event])
                }
                return .text(entry["message"] ?? .null)
            }
            return ClientSpec(
                name: name, clientID: client["client_id"]?.stringValue ?? name,
                featureFlags: client["sent_feature_flags"]?.objectValue, expected: frames)
        }
    }

    /// Collapses each run of sampler-step frames into one marker, for scenarios whose step count
    /// depends on when the test acted (interrupt, reconnect).
    static func collapsingSteps(_ tokens: [String]) -> [String] {
        var out: [String] = []
        for token in tokens {
            let isStep = token == "progress" || token.hasPrefix("binary:") || token == "progress_state"
            if isStep, out.last == "steps" || (token == "progress" && out.last == "progress_state") {
                if out.last == "progress_state" { out.removeLast() }
                if out.last != "steps" { out.append("steps") }
                continue
            }
            out.append(token)
        }
        return out
    }

    /// Opens one socket per recorded client (nested), then runs `body` with all of them.
    static func withSockets<T: Sendable>(
        _ specs: ArraySlice<ClientSpec>, port: Int, opened: [TestWebSocket] = [],
        _ body: @Sendable ([TestWebSocket]) async throws -> T
    ) async throws -> T {
        guard let spec = specs.first else { return try await body(opened) }
        return try await withWebSocket(port: port, clientID: spec.clientID, featureFlags: spec.featureFlags) { socket in
            try await withSockets(specs.dropFirst(), port: port, opened: opened + [socket], body)
        }
    }

    /// Runs a prompt to completion beforehand so the scenario's cached nodes are cached again.
    static func warmCache(for recording: JSONValue, request: JSONValue, client: TestClient, sockets: [TestWebSocket]) async throws {
        guard case .object(let prompt)? = request["prompt"] else { return }
        let allIDs = prompt.keys
        let recordedClients = recording["clients"]?.objectValue?.values ?? []
        var messages: [JSONValue] = []
        for recorded in recordedClients { messages += (recorded["messages"]?.arrayValue ?? []).compactMap { $0["message"] } }
        var cached: [String]
        if let cachedMessage = messages.first(where: { $0["type"]?.stringValue == "execution_cached" }) {
            cached = (cachedMessage["data"]?["nodes"]?.arrayValue ?? []).compactMap(\.stringValue)
        } else {
            // No owner messages recorded: nodes that never show up in progress_state were cached.
            var seen = Set<String>()
            for message in messages { seen.formUnion(message["data"]?["nodes"]?.objectValue?.keys ?? []) }
            cached = allIDs.filter { !seen.contains($0) }
        }
        guard !cached.isEmpty else { return }
        var warm = prompt
        if cached.count < allIDs.count, case .object(var node)? = warm["2"], case .object(var inputs)? = node["inputs"] {
            inputs["seed"] = .int((inputs["seed"]?.intValue ?? 0) + 1)
            node["inputs"] = .object(inputs)
            warm["2"] = .object(node)
        }
        let id = try await client.submit(["prompt": .object(warm), "client_id": "cache-warmer"])
        _ = try await client.waitForHistory(id)
        for socket in sockets {
            try await socket.waitFor("idle status") { frames in
                frames.last?.message?["data"]?["status"]?["exec_info"]?["queue_remaining"]?.intValue == 0
            }
            socket.clear()
        }
    }

    static func expectSameOrder(_ spec: ClientSpec, _ socket: TestWebSocket, scenario: String, collapse: Bool = false, dropStatus: Bool = false) {
        var expected = spec.expected.map(\.token)
        var actual = socket.tokens
        if dropStatus {
            expected.removeAll { $0 == "status" }
            actual.removeAll { $0 == "status" }
        }
        if collapse {
            expected = collapsingSteps(expected)
            actual = collapsingSteps(actual)
        }
        #expect(actual == expected, "\(scenario) / \(spec.name): got \(actual), recorded \(expected)")
    }

    /// Each recorded message's data keys match ours, message by message in order.
    static func expectSameKeys(_ spec: ClientSpec, _ socket: TestWebSocket, scenario: String) {
        let expected = spec.expected.compactMap(\.message)
        let actual = socket.messages
        for (e, a) in zip(expected, actual) where e["type"] == a["type"] {
            let differences = Shape.differences(expected: e, actual: a)
                .filter { !$0.contains("queue_remaining") && !$0.contains(".nodes") && !$0.contains("output") }
            #expect(differences.isEmpty, "\(scenario) / \(spec.name) \(e["type"]?.stringValue ?? ""): \(differences)")
        }
    }

    @Test("connect: status with the sid, feature_flags answered")
    func connect() async throws {
        let specs = Self.clients(Recordings.ws("connect"))
        try await withNode { _, client in
            try await Self.withSockets(specs[...], port: client.port) { sockets in
                for (spec, socket) in zip(specs, sockets) {
                    Self.expectSameOrder(spec, socket, scenario: "connect")
                    #expect(socket.messages.first?["data"]?["sid"]?.stringValue == spec.clientID)
                    Self.expectSameKeys(spec, socket, scenario: "connect")
                }
            }
        }
    }

    @Test("a socket without clientId gets a 32-hex sid")
    func mintedSid() async throws {
        try await withNode { _, client in
            try await withWebSocket(port: client.port, clientID: nil) { socket in
                let sid = try #require(socket.messages.first?["data"]?["sid"]?.stringValue)
                #expect(sid.count == 32 && sid.allSatisfy(\.isHexDigit) && sid == sid.lowercased())
            }
        }
    }

    @Test(
        "one job: each client receives what the recording shows",
        arguments: [
            "job-success-legacy-client", "job-success-feature-flags-client", "job-success-no-client-id",
            "job-success-cached-rerun", "job-error"
        ])
    func oneJob(scenario: String) async throws {
        let recording = Recordings.ws(scenario)
        let specs = Self.clients(recording)
        let request = recording["request"]?["json"] ?? .null
        try await withNode { node, client in
            try await Self.withSockets(specs[...], port: client.port) { sockets in
                for socket in sockets { socket.clear() }
                try await Self.warmCache(for: recording, request: request, client: client, sockets: sockets)
                let id = try await client.submit(request)
                _ = try await client.waitForHistory(id)
                for socket in sockets {
                    try await socket.waitFor("final status") { frames in
                        frames.contains { $0.message?["data"]?["status"]?["exec_info"]?["queue_remaining"]?.intValue == 0 }
                    }
                }
                if let owner = request["client_id"]?.stringValue, let socket = sockets.first(where: { $0.clientID == owner }) {
                    try await socket.waitForEnd(of: id)
                }
                for (spec, socket) in zip(specs, sockets) {
                    Self.expectSameOrder(spec, socket, scenario: scenario)
                    Self.expectSameKeys(spec, socket, scenario: scenario)
                }
                #expect(await node.queueRemaining == 0)
            }
        }
    }

    @Test("interrupt: execution_interrupted, status, executing null")
    func interrupted() async throws {
        let recording = Recordings.ws("job-interrupted")
        let specs = Self.clients(recording)
        var profile = NodeProfile.test
        profile.timeScale = 0.02
        try await withNode(profile) { node, client in
            try await Self.withSockets(specs[...], port: client.port) { sockets in
                for socket in sockets { socket.clear() }
                let submitter = try #require(sockets.first { $0.clientID == recording["request"]?["json"]?["client_id"]?.stringValue })
                let id = try await client.submit(recording["request"]?["json"] ?? .null)
                try await submitter.waitFor("3 progress steps") { $0.filter { $0.token == "progress" }.count >= 3 }
                _ = try await client.post("/interrupt", ["prompt_id": .string(id)])
                try await submitter.waitForEnd(of: id)
                for socket in sockets {
                    try await socket.waitFor("final status") { frames in
                        frames.contains { $0.message?["data"]?["status"]?["exec_info"]?["queue_remaining"]?.intValue == 0 }
                    }
                }
                for (spec, socket) in zip(specs, sockets) {
                    Self.expectSameOrder(spec, socket, scenario: "job-interrupted", collapse: true)
                }
                let history = try await client.waitForHistory(id)
                #expect(history["status"]?["status_str"] == "error")
                #expect(history["status"]?["messages"]?[2]?[0] == "execution_interrupted")
                _ = node
            }
        }
    }

    @Test("reconnect with the same clientId mid-job: status, executing {node}, then the rest")
    func reconnect() async throws {
        let recording = Recordings.ws("reconnect-same-client-id")
        let specs = Self.clients(recording)
        let before = try #require(specs.first { $0.name == "submitter_before_disconnect" })
        let after = try #require(specs.first { $0.name == "submitter_reconnected" })
        // A 120-step job, so the worker is still inside node 2 when the hang fault lands on a busy machine.
        var prompt = try #require(Recordings.ws("job-success-legacy-client")["request"]?["json"]?.objectValue)
        if case .object(var graph)? = prompt["prompt"], case .object(var work)? = graph["2"], case .object(var inputs)? = work["inputs"] {
            inputs["steps"] = 120
            work["inputs"] = .object(inputs)
            graph["2"] = .object(work)
            prompt["prompt"] = .object(graph)
        }
        let body = JSONValue.object(prompt)
        var profile = NodeProfile.test
        profile.timeScale = 0.05
        try await withNode(profile) { node, client in
            try await withWebSocket(port: client.port, clientID: before.clientID) { first in
                first.clear()
                await node.inject(.hang(false))
                let id = try await client.submit(body)
                try await first.waitFor("2 progress steps") { $0.filter { $0.token == "progress" }.count >= 2 }
                await node.inject(.hang(true))
                first.close()
                try await Task.sleep(for: .milliseconds(50))
                try await withWebSocket(port: client.port, clientID: after.clientID) { second in
                    try await second.waitFor("executing after status") { $0.count >= 2 }
                    await node.inject(.hang(false))
                    try await second.waitForEnd(of: id, timeout: 30)
                    let tokens = second.tokens
                    #expect(Array(tokens.prefix(2)) == ["status", "executing"])
                    #expect(second.messages[0]["data"]?["sid"]?.stringValue == after.clientID)
                    #expect(second.messages[1]["data"]?.objectValue?.keys == ["node"], "reconnect form has only node")
                    Self.expectSameOrder(after, second, scenario: "reconnect", collapse: true)
                }
            }
        }
    }

    @Test("two clients, one job each: each gets only its own job's events")
    func twoClients() async throws {
        let recording = Recordings.ws("two-jobs-two-clients")
        let specs = Self.clients(recording)
        // The recording keeps only who submitted; both jobs were the work-empty-image prompt.
        let base = try #require(Recordings.ws("job-success-legacy-client")["request"]?["json"]?["prompt"]?.objectValue)
        let requests: [JSONValue] = (recording["requests"]?.arrayValue ?? []).enumerated().map { index, request in
            var prompt = base
            if case .object(var node)? = prompt["2"], case .object(var inputs)? = node["inputs"] {
                inputs["seed"] = .int(1000 + index)
                node["inputs"] = .object(inputs)
                prompt["2"] = .object(node)
            }
            return ["json": ["prompt": .object(prompt), "client_id": request["client_id"] ?? .null]]
        }
        try await withNode { node, client in
            try await Self.withSockets(specs[...], port: client.port) { sockets in
                for socket in sockets { socket.clear() }
                try await Self.warmCache(for: recording, request: requests.first?["json"] ?? .null, client: client, sockets: sockets)
                var ids: [String] = []
                for request in requests { ids.append(try await client.submit(request["json"] ?? .null)) }
                for (request, id) in zip(requests, ids) {
                    let owner = request["json"]?["client_id"]?.stringValue
                    try await sockets.first { $0.clientID == owner }?.waitForEnd(of: id)
                }
                for socket in sockets {
                    try await socket.waitFor("idle") {
                        $0.last?.message?["data"]?["status"]?["exec_info"]?["queue_remaining"]?.intValue == 0 || $0.last?.token == "executing:null"
                    }
                }
                for (spec, socket) in zip(specs, sockets) {
                    Self.expectSameOrder(spec, socket, scenario: "two-jobs", dropStatus: true)
                    let foreign = socket.messages.compactMap { $0["data"]?["prompt_id"]?.stringValue }.filter { pid in
                        let owner = zip(requests, ids).first { $0.1 == pid }?.0["json"]?["client_id"]?.stringValue
                        return owner != socket.clientID
                    }
                    #expect(foreign.isEmpty, "\(spec.name) received another client's events: \(foreign)")
                }
                _ = node
            }
        }
    }

    @Test("binary previews: type 1 carries a JPEG; type 4 carries metadata naming the prompt and node")
    func previewFrames() async throws {
        let prompt = try #require(Recordings.ws("job-success-legacy-client")["request"]?["json"]?["prompt"])
        try await withNode { _, client in
            try await withWebSocket(port: client.port, clientID: "legacy") { legacy in
                try await withWebSocket(port: client.port, clientID: "modern", featureFlags: ["supports_preview_metadata": true]) { modern in
                    let a = try await client.submit(["prompt": prompt, "client_id": "legacy"])
                    try await legacy.waitForEnd(of: a)
                    var other = try #require(prompt.objectValue)
                    other["1"] = ["class_type": "EmptyImage", "inputs": ["width": 32, "height": 32, "batch_size": 1, "color": 255]]
                    let b = try await client.submit([
                        "prompt": .object(other), "client_id": "modern", "prompt_id": "5d4a5b5e-1f3a-4c8e-9a7b-0c1d2e3f4a5b"
                    ])
                    try await modern.waitForEnd(of: b)
                    let type1 = legacy.received.compactMap { frame -> [UInt8]? in if case .binary(let b) = frame { b } else { nil } }
                    let type4 = modern.received.compactMap { frame -> [UInt8]? in if case .binary(let b) = frame { b } else { nil } }
                    #expect(type1.count == 5 && type4.count == 5)
                    for bytes in type1 {
                        guard case .previewImage(let format, let image)? = try? BinaryFrame(bytes: bytes) else {
                            Issue.record("not a type 1 frame")
                            continue
                        }
                        #expect(format == .jpeg && image.starts(with: [0xFF, 0xD8, 0xFF]))
                    }
                    for bytes in type4 {
                        guard case .previewImageWithMetadata(let metadata, let image)? = try? BinaryFrame(bytes: bytes) else {
                            Issue.record("not a type 4 frame")
                            continue
                        }
                        #expect(metadata["prompt_id"]?.stringValue == b && metadata["node_id"] == "2")
                        #expect(metadata["image_type"] == "image/jpeg" && image.starts(with: [0xFF, 0xD8, 0xFF]))
                    }
                }
            }
        }
    }
}

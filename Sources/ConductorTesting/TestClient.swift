import AsyncHTTPClient
import ComfyWire
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SimulatedNode

/// A response as a client sees it.
public struct HTTPResult: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public var json: JSONValue? { try? JSONValue(parsing: body) }
    public var text: String { String(decoding: body, as: UTF8.self) }
    public func header(_ name: String) -> String? { headers.first(name: name) }
}

/// Talks to a node over real HTTP on loopback.
public struct TestClient: Sendable {
    public let port: Int
    public init(port: Int) { self.port = port }
    public var base: String { "http://127.0.0.1:\(port)" }

    public func request(
        _ method: HTTPMethod, _ path: String, json: JSONValue? = nil, raw: [UInt8]? = nil,
        headers: [(String, String)] = []
    ) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json.serialized(.compact)))
        } else if let raw {
            request.body = .bytes(ByteBuffer(bytes: raw))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 256 << 20)
        return HTTPResult(status: Int(response.status.code), headers: response.headers, body: Array(body.readableBytesView))
    }

    public func get(_ path: String) async throws -> HTTPResult { try await request(.GET, path) }

    public func post(_ path: String, _ json: JSONValue) async throws -> HTTPResult { try await request(.POST, path, json: json) }

    /// A `multipart/form-data` POST with text fields and an optional file part.
    public func multipart(
        _ path: String, fields: [(String, String)] = [], file: (field: String, filename: String, bytes: [UInt8])? = nil,
        truncate: Int? = nil
    ) async throws -> HTTPResult {
        let boundary = "conductor-test-\(UUID().uuidString)"
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        if let file {
            body += Array(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.filename)\"\r\nContent-Type: image/png\r\n\r\n"
                    .utf8)
            body += file.bytes + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        if let truncate { body = Array(body.prefix(truncate)) }
        return try await request(.POST, path, raw: body, headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")])
    }

    /// Submits a prompt body and returns its prompt_id (the test fails on a non-200).
    @discardableResult
    public func submit(_ body: JSONValue) async throws -> String {
        let result = try await post("/prompt", body)
        guard result.status == 200, let id = result.json?["prompt_id"]?.stringValue else {
            throw UnexpectedAnswer(description: "POST /prompt answered \(result.status): \(result.text)")
        }
        return id
    }

    /// Waits until `/history/{id}` has the entry, and returns it.
    public func waitForHistory(_ id: String, timeout: Double = 10) async throws -> JSONValue {
        var entry: JSONValue?
        try await eventually(timeout: timeout) {
            entry = try await get("/history/\(id)").json?[id]
            return entry != nil
        }
        return entry!
    }
}

extension NodeProfile {
    /// A fast node for tests: 1000× faster than real time, two checkpoints and a LoRA.
    public static var test: NodeProfile {
        var profile = NodeProfile()
        profile.name = "test-node"
        profile.timeScale = 0.001
        profile.checkpoints = [
            ModelFile(name: "sdxl-动漫二次元_2.0.safetensors", sizeBytes: 6_938_078_334),
            ModelFile(name: "v1-5-pruned-emaonly.safetensors", sizeBytes: 4_265_146_304)
        ]
        profile.loras = [ModelFile(name: "add-detail-xl.safetensors", sizeBytes: 228_454_200)]
        return profile
    }
}

/// A fresh temporary directory, removed afterwards.
public func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("conductor-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url)
}

/// Runs `body` against a simulated node on a free loopback port.
public func withNode<T: Sendable>(
    _ profile: NodeProfile = .test, _ body: @Sendable (SimulatedNode, TestClient) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { directory in
        var logger = Logger(label: "test.sim-node")
        logger.logLevel = .warning
        return try await SimulatedNode.withRunning(profile: profile, directory: directory, logger: logger) { node, port in
            try await body(node, TestClient(port: port))
        }
    }
}

public struct TimedOut: Error, CustomStringConvertible {
    public var description: String
}

/// A server answered something a test helper did not expect.
public struct UnexpectedAnswer: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Polls `condition` until it holds; fails the test after `timeout` seconds.
public func eventually(
    timeout: Double = 10, _ what: String = "condition",
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .seconds(timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    throw TimedOut(description: "timed out after \(timeout)s waiting for \(what)")
}

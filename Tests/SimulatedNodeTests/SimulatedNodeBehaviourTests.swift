import AsyncHTTPClient
import ComfyWire
import ConductorTesting
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import SimulatedNode
import Synchronization
import Testing

/// What the behaviour suites (prompt execution, queue, history, uploads, images, GPU, faults,
/// origin) share: prompts, images, raw multipart bodies and a WebSocket that notices a server close.
enum Behaviour {
    /// The repository's seed workflow, `Examples/sdxl-ksampler.json`, as a `POST /prompt` body.
    static func seedWorkflow() throws -> JSONValue {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let data = try Data(contentsOf: repository.appendingPathComponent("Examples/sdxl-ksampler.json"))
        return try JSONValue(parsing: Array(data))
    }

    /// The seed workflow with another checkpoint, seed, step count, size and owner.
    static func ksampler(
        checkpoint: String, seed: JSONValue = 1, steps: Int = 2, size: Int = 64, clientID: String
    ) throws -> JSONValue {
        try seedWorkflow()
            .setting(["prompt", "4", "inputs", "ckpt_name"], to: .string(checkpoint))
            .setting(["prompt", "3", "inputs", "seed"], to: seed)
            .setting(["prompt", "3", "inputs", "steps"], to: .int(steps))
            .setting(["prompt", "5", "inputs", "width"], to: .int(size))
            .setting(["prompt", "5", "inputs", "height"], to: .int(size))
            .setting(["client_id"], to: .string(clientID))
    }

    /// EmptyImage → AcceptanceWork → SaveImage: pauses at every step, so `.hang(true)` holds it running.
    static func workJob(seed: Int, clientID: String = "behaviour", prefix: String = "work") -> JSONValue {
        [
            "client_id": .string(clientID),
            "prompt": [
                "1": ["class_type": "EmptyImage", "inputs": ["width": 8, "height": 8, "batch_size": 1, "color": 0x102030]],
                "2": [
                    "class_type": "AcceptanceWork",
                    "inputs": ["image": ["1", 0], "steps": 2, "seconds_per_step": 0.1, "seed": .int(seed), "preview": false]
                ],
                "3": ["class_type": "SaveImage", "inputs": ["images": ["2", 0], "filename_prefix": .string(prefix)]]
            ]
        ]
    }

    /// EmptyImage → SaveImage: runs straight through, no pause.
    static func quickJob(color: Int, clientID: String = "behaviour", prefix: String = "quick") -> JSONValue {
        [
            "client_id": .string(clientID),
            "prompt": [
                "1": ["class_type": "EmptyImage", "inputs": ["width": 4, "height": 4, "batch_size": 1, "color": .int(color)]],
                "2": ["class_type": "SaveImage", "inputs": ["images": ["1", 0], "filename_prefix": .string(prefix)]]
            ]
        ]
    }

    /// An RGB image whose every pixel differs from its neighbours.
    static func gradient(width: Int, height: Int) -> RasterImage {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                pixels += [UInt8(x * 255 / max(width - 1, 1)), UInt8(y * 255 / max(height - 1, 1)), UInt8((x * 7 + y * 13) % 256)]
            }
        }
        return RasterImage(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// Percent-encodes a query value (spaces, brackets, slashes and dots in file names).
    static func query(_ value: String) -> String {
        value.addingPercentEncoding(
            withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~")) ?? value
    }

    /// Every file and folder under `root`, relative to it (hidden and partial files included).
    static func tree(_ root: URL) -> Set<String> {
        Set(FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? [])
    }

    /// The ids of `GET /history` (or a page of it), in the order the server listed them.
    static func historyIDs(_ client: TestClient, query: String = "") async throws -> [String] {
        let result = try await client.get("/history" + query)
        #expect(result.status == 200, "GET /history\(query) answered \(result.status)")
        return result.json?.objectValue?.keys ?? []
    }

    /// Waits until `id` is the prompt in `queue_running`.
    static func waitUntilRunning(_ id: String, _ client: TestClient) async throws {
        try await eventually(timeout: 10, "\(id) running") {
            try await client.get("/queue").json?["queue_running"]?[0]?[1]?.stringValue == id
        }
    }

    /// `GET /prompt`'s `queue_remaining`.
    static func queueRemaining(_ client: TestClient) async throws -> Int? {
        try await client.get("/prompt").json?["exec_info"]?["queue_remaining"]?.intValue
    }

    /// `/system_stats` `devices[0]`.
    static func device(_ client: TestClient) async throws -> JSONValue? {
        try await client.get("/system_stats").json?["devices"]?[0]
    }

    /// A GET with its own client-side timeout; throws when the node cannot answer in time.
    static func get(_ client: TestClient, _ path: String, timeout: TimeAmount) async throws -> Int {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: client.base + path), timeout: timeout)
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    /// Whether a GET on a fresh connection fails, as it does while a node's listener is down.
    ///
    /// The probe does not retry a refused connection (the shared client would, until its deadline,
    /// and so ride out a short outage) and never reuses a pooled connection.
    static func isUnreachable(_ client: TestClient) async -> Bool {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(2)
        do {
            return try await HTTPClient.withHTTPClient(configuration: configuration) { probe in
                let response = try await probe.execute(HTTPClientRequest(url: client.base + "/prompt"), timeout: .seconds(2))
                _ = try await response.body.collect(upTo: 1 << 20)
                return false
            }
        } catch {
            return true
        }
    }
}

/// A `multipart/form-data` body built by hand, so a test can cut it anywhere.
struct MultipartBody {
    let boundary = "behaviour-\(UUID().uuidString)"
    private(set) var bytes: [UInt8] = []
    /// Where the file part's bytes sit in `bytes`.
    private(set) var fileBytes: Range<Int>?

    init(fields: [(String, String)] = [], file: (field: String, filename: String, bytes: [UInt8])? = nil) {
        for (name, value) in fields {
            bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        if let file {
            bytes += Array(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.filename)\"\r\nContent-Type: image/png\r\n\r\n"
                    .utf8)
            fileBytes = bytes.count..<(bytes.count + file.bytes.count)
            bytes += file.bytes + Array("\r\n".utf8)
        }
        bytes += Array("--\(boundary)--\r\n".utf8)
    }

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    func post(_ client: TestClient, _ path: String, prefix: Int? = nil) async throws -> HTTPResult {
        let body = prefix.map { Array(bytes.prefix($0)) } ?? bytes
        return try await client.request(.POST, path, raw: body, headers: [("Content-Type", contentType)])
    }
}

extension TestClient {
    /// `POST /upload/image` (or `/upload/mask`) with one file part and text fields.
    func upload(
        _ filename: String, _ bytes: [UInt8], fields: [(String, String)] = [], path: String = "/upload/image"
    ) async throws -> HTTPResult {
        try await MultipartBody(fields: fields, file: ("image", filename, bytes)).post(self, path)
    }
}

extension JSONValue {
    /// A copy with the value at `path` (object keys) replaced, creating objects on the way.
    func setting(_ path: [String], to value: JSONValue) -> JSONValue {
        guard let key = path.first else { return value }
        var object = objectValue ?? [:]
        object[key] = (object[key] ?? [:]).setting(Array(path.dropFirst()), to: value)
        return .object(object)
    }
}

/// A WebSocket client that records text messages and notices when the server ends the connection.
final class ObservedWebSocket: Sendable {
    private struct State {
        var messages: [JSONValue] = []
        var closedByServer = false
    }

    private let state = Mutex(State())

    var messages: [JSONValue] { state.withLock { $0.messages } }
    var closedByServer: Bool { state.withLock { $0.closedByServer } }

    fileprivate func append(_ message: JSONValue) { state.withLock { $0.messages.append(message) } }
    fileprivate func markClosedByServer() { state.withLock { $0.closedByServer = true } }
}

/// Opens `/ws?clientId=…`, waits for the initial status, runs `body`, then closes the socket if
/// the server has not already.
func withObservedWebSocket<T: Sendable>(
    port: Int, clientID: String, _ body: @Sendable (ObservedWebSocket) async throws -> T
) async throws -> T {
    let (stopped, stop) = AsyncStream<Void>.makeStream()
    let socket = ObservedWebSocket()
    var logger = Logger(label: "test.ws")
    logger.logLevel = .critical
    let url = "ws://127.0.0.1:\(port)/ws?clientId=\(clientID)"
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { [logger] in
            do {
                try await WebSocketClient.connect(url: url, logger: logger) { inbound, _, _ in
                    try await withThrowingTaskGroup(of: Bool.self) { inner in
                        inner.addTask {
                            do {
                                for try await message in inbound.messages(maxSize: 1 << 24) {
                                    if case .text(let text) = message { socket.append((try? JSONValue(parsing: text)) ?? .string(text)) }
                                }
                            } catch {}
                            return true
                        }
                        inner.addTask {
                            for await _ in stopped {}
                            return false
                        }
                        if try await inner.next() == true { socket.markClosedByServer() }
                        inner.cancelAll()
                    }
                }
            } catch {
                socket.markClosedByServer()
            }
            return nil
        }
        let result: T
        do {
            try await eventually(timeout: 10, "initial status on \(clientID)") { !socket.messages.isEmpty }
            result = try await body(socket)
        } catch {
            stop.finish()
            group.cancelAll()
            throw error
        }
        stop.finish()
        while try await group.next() != nil {}
        return result
    }
}

import AsyncHTTPClient
import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// Routes that need no node, through Hummingbird's router test client: no sockets, no fleet.
@Suite("Routes without a node")
struct RouterTests {
    static let model = "v1-5-pruned-emaonly.safetensors"

    /// Conductor's routes in front of an empty fleet (a submit is accepted and waits), on a fresh data directory.
    static func withRoutes<T: Sendable>(
        _ configure: (inout ClusterConfig) -> Void = { _ in },
        _ body: @Sendable (any TestClientProtocol, Coordinator) async throws -> T
    ) async throws -> T {
        try await withTemporaryDirectory { directory in
            var config = ClusterConfig(nodes: [])
            config.dataDirectory = directory.path
            configure(&config)
            let store = try SQLiteStore(path: directory.appendingPathComponent("conductor.sqlite").path)
            let files = try await UploadStore(store: store, directory: directory.appendingPathComponent("files"))
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            var logger = Logger(label: "test.router")
            logger.logLevel = .critical
            let coordinator = Coordinator(config: config, store: store, files: files, http: http, instanceID: "router", logger: logger)
            let router = ConductorRoutes(
                coordinator: coordinator, maxUploadBytes: config.files.maxUploadBytes,
                maxJsonBytes: config.limits.maxJsonBytes, auth: config.auth
            ).buildRouter()
            do {
                let result = try await Application(router: router).test(.router) { client in try await body(client, coordinator) }
                try await http.shutdown()
                return result
            } catch {
                try await http.shutdown()
                throw error
            }
        }
    }

    static func post(_ client: any TestClientProtocol, _ path: String, _ body: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    static func json(_ response: TestResponse) throws -> JSONValue { try JSONValue(parsing: response.body.readableBytesView) }

    static let prompt = TestFleet.prompt(checkpoint: model).jsonString(.compact)

    @Test("a submit is refused in ComfyUI's 400 shape: no prompt, NaN or Infinity, a prompt_id that is not a string or is taken")
    func refusals() async throws {
        try await Self.withRoutes { client, _ in
            let nan = Self.prompt.replacingOccurrences(of: #""cfg":8"#, with: #""cfg":NaN"#)
            #expect(nan.contains("NaN"))
            let cases: [(body: String, type: String)] = [
                (#"{"client_id": "x"}"#, "no_prompt"),
                (#"{"prompt": \#(nan)}"#, "invalid_prompt"),
                (#"{"prompt": \#(Self.prompt), "extra_data": {"x": -Infinity}}"#, "invalid_prompt"),
                (#"{"prompt": \#(Self.prompt), "prompt_id": 7}"#, "invalid_prompt_id")
            ]
            for test in cases {
                let answer = try await Self.post(client, "/prompt", test.body)
                #expect(answer.status == .badRequest, "\(test.body)")
                #expect(try Self.json(answer)["error"]?["type"]?.stringValue == test.type)
                #expect(try Self.json(answer)["node_errors"] == [:])
            }
            #expect(try await Self.post(client, "/prompt", #"{"prompt": \#(Self.prompt), "prompt_id": "mine"}"#).status == .ok)
            let again = try await Self.post(client, "/api/prompt", #"{"prompt": \#(Self.prompt), "prompt_id": "mine"}"#)
            #expect(again.status == .badRequest)
            #expect(try Self.json(again)["error"]?["details"]?.stringValue == "prompt_id mine already exists")
            // Not JSON at all: ComfyUI's bare 500.
            #expect(try await Self.post(client, "/prompt", "{nope").status == .internalServerError)
            // The queue holds the one accepted, and stays strict JSON.
            let queue = try await client.execute(uri: "/queue", method: .get)
            #expect(try JSONSerialization.jsonObject(with: Data(queue.body.readableBytesView)) is [String: Any])
            #expect(try Self.json(queue)["queue_pending"]?.arrayValue?.compactMap { $0[1]?.stringValue } == ["mine"])
        }
    }

    @Test("a full queue answers 503 with Retry-After at once; one client cannot fill another's share")
    func overload() async throws {
        try await Self.withRoutes({
            $0.limits.maxQueuedJobs = 3
            $0.limits.maxQueuedPerClient = 2
            $0.limits.retryAfterSeconds = 7
        }) { client, _ in
            func submit(_ clientID: String) async throws -> TestResponse {
                try await Self.post(client, "/prompt", #"{"prompt": \#(Self.prompt), "client_id": "\#(clientID)"}"#)
            }
            for _ in 1...2 { #expect(try await submit("greedy").status == .ok) }
            let third = try await submit("greedy")
            #expect(third.status == .serviceUnavailable)
            #expect(third.headers[.retryAfter] == "7")
            #expect(try Self.json(third)["error"]?["type"] == "queue_full")
            #expect(try await submit("modest").status == .ok)
            let full = try await submit("late")
            #expect(full.status == .serviceUnavailable)
            #expect(try Self.json(full)["error"]?["message"]?.stringValue?.hasPrefix("The queue is full") == true)
            let remaining = try await client.execute(uri: "/prompt", method: .get)
            #expect(try Self.json(remaining)["exec_info"]?["queue_remaining"] == 3)
        }
    }

    @Test("deleting from the queue removes waiting jobs; clearing removes the rest")
    func queueEdits() async throws {
        try await Self.withRoutes { (client: any TestClientProtocol, _: Coordinator) async throws in
            for id in ["a", "b", "c"] {
                #expect(try await Self.post(client, "/prompt", #"{"prompt": \#(Self.prompt), "prompt_id": "\#(id)"}"#).status == .ok)
            }
            #expect(try await Self.post(client, "/queue", #"{"delete": ["b", "nope"]}"#).status == .ok)
            @Sendable func pending() async throws -> [String] {
                try Self.json(try await client.execute(uri: "/queue", method: .get))["queue_pending"]?.arrayValue?.compactMap { $0[1]?.stringValue }
                    ?? []
            }
            #expect(try await pending() == ["a", "c"])
            #expect(try await Self.post(client, "/queue", #"{"clear": true}"#).status == .ok)
            #expect(try await pending().isEmpty)
            // Gone from the store too: the id may not be taken again only while it is known.
            #expect(try await Self.post(client, "/prompt", #"{"prompt": \#(Self.prompt), "prompt_id": "b"}"#).status == .ok)
        }
    }

    @Test("an operator's action on a node or job that is not there, or not in a state for it, says why with its status")
    func adminRefusals() async throws {
        try await Self.withRoutes { client, _ in
            let cases: [(HTTPRequest.Method, String, String?, HTTPResponse.Status, String)] = [
                (.get, "/conductor/api/nodes/ghost", nil, .notFound, "no node ghost"),
                (.post, "/conductor/api/nodes/ghost/drain", nil, .notFound, "no node ghost"),
                (.delete, "/conductor/api/nodes/ghost", nil, .notFound, "no node ghost"),
                (.post, "/conductor/api/nodes", #"{"name": "x"}"#, .badRequest, "url"),
                (.get, "/conductor/api/jobs/ghost", nil, .notFound, "no job ghost"),
                (.post, "/conductor/api/jobs/ghost/cancel", nil, .notFound, "no job ghost"),
                (.post, "/conductor/api/jobs/ghost/requeue", nil, .notFound, "no job ghost")
            ]
            for (method, path, body, status, words) in cases {
                let answer = try await client.execute(uri: path, method: method, body: body.map { ByteBuffer(string: $0) })
                #expect(answer.status == status, "\(method) \(path)")
                #expect(try Self.json(answer)["error"]?.stringValue?.contains(words) == true, "\(method) \(path)")
            }
            #expect(try await Self.post(client, "/prompt", #"{"prompt": \#(Self.prompt), "prompt_id": "waiting"}"#).status == .ok)
            let requeue = try await client.execute(uri: "/conductor/api/jobs/waiting/requeue", method: .post)
            #expect(requeue.status == .conflict)
            #expect(try Self.json(requeue)["error"] == "waiting is already waiting in Conductor's queue")
            let added = try await Self.post(client, "/conductor/api/nodes", #"{"name": "late", "url": "http://127.0.0.1:9"}"#)
            #expect(added.status == .created)
            #expect(try Self.json(added)["name"] == "late" && Self.json(added)["health"] == "down")
            #expect(try await Self.post(client, "/conductor/api/nodes", #"{"name": "late", "url": "http://127.0.0.1:9"}"#).status == .conflict)
            let cancelled = try await client.execute(uri: "/conductor/api/jobs/waiting/cancel", method: .post)
            #expect(try Self.json(cancelled) == ["prompt_id": "waiting", "cancelled": "deleted"])
        }
    }
}

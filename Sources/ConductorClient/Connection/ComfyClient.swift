import AsyncHTTPClient
import ComfyWire
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A ComfyUI client over HTTP and WebSocket that returns typed values and throws `ClientError`.
///
/// It speaks the plain ComfyUI API, so it works the same against Conductor and against a single node.
public struct ComfyClient: Sendable {
    public let server: ServerAddress
    let http: HTTPClient
    let logger: Logger

    public init(server: ServerAddress, http: HTTPClient = .shared, logger: Logger) {
        self.server = server
        self.http = http
        self.logger = logger
    }

    /// Runs `body` with a client whose HTTP connections fail at once when the server refuses them
    /// (the shared client retries for its whole connect timeout), shut down afterwards.
    public static func withClient<T>(
        server: ServerAddress, logger: Logger, _ body: (ComfyClient) async throws -> T
    ) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return try await HTTPClient.withHTTPClient(configuration: configuration) { http in
            try await body(ComfyClient(server: server, http: http, logger: logger))
        }
    }

    /// A whole answer: status and body.
    public struct Answer: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends a request and reads the whole answer. Only a failure to connect throws.
    public func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], json: JSONValue? = nil,
        body: [UInt8]? = nil, contentType: String? = nil, timeout: TimeAmount = .seconds(60)
    ) async throws(ClientError) -> Answer {
        var request = HTTPClientRequest(url: server.url(path, query: query))
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json.serialized(.compact)))
        } else if let body {
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await http.execute(request, timeout: timeout)
            let collected = try await response.body.collect(upTo: 1 << 30)
            return Answer(status: Int(response.status.code), headers: response.headers, body: Array(collected.readableBytesView))
        } catch {
            logger.debug("request failed", metadata: ["http.path": "\(path)", "error": "\(error)"])
            throw .unreachable(server: server.description, reason: Self.reason(error))
        }
    }

    /// A GET or POST whose 200 answer is JSON; 404/405 mean the server lacks the route.
    func json(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil
    ) async throws(ClientError) -> JSONValue {
        let answer = try await send(method, path, query: query, json: body)
        try expectOK(answer, "\(method) \(path)")
        guard let value = try? JSONValue(parsing: answer.body) else {
            throw .badAnswer(server: server.description, request: "\(method) \(path)", reason: "the body is not JSON")
        }
        return value
    }

    /// Throws the right error for a non-200 answer.
    func expectOK(_ answer: Answer, _ request: String) throws(ClientError) {
        switch answer.status {
        case 200..<300: return
        case 404, 405: throw .notOffered(server: server.description, request: request, status: answer.status)
        default: throw .unexpectedStatus(server: server.description, request: request, status: answer.status, body: answer.text)
        }
    }

    /// A short reason for a connection failure, worded as a person would say it.
    static func reason(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.localizedCaseInsensitiveContains("refused") { return "connection refused" }
        if text.localizedCaseInsensitiveContains("timeout") || text.localizedCaseInsensitiveContains("timed out") {
            return "no answer in time"
        }
        if text.localizedCaseInsensitiveContains("resolve") || text.localizedCaseInsensitiveContains("lookup") {
            return "unknown host"
        }
        if text.localizedCaseInsensitiveContains("ssl") || text.localizedCaseInsensitiveContains("tls") {
            return "TLS failed: \(text)"
        }
        return text
    }
}

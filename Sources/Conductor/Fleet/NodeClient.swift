import AsyncHTTPClient
import ComfyWire
import ConductorCore
import Foundation
import NIOCore
import NIOHTTP1

/// HTTP toward one ComfyUI node: its base URL and the headers cluster.json gives it.
public struct NodeClient: Sendable {
    public let name: String
    public let baseURL: String
    public let headers: [String: String]
    let http: HTTPClient

    public init(node: ClusterConfig.Node, http: HTTPClient = .shared) {
        name = node.name
        baseURL = node.url
        headers = node.headers
        self.http = http
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var json: JSONValue? { try? JSONValue(parsing: body) }
    }

    func makeRequest(_ method: HTTPMethod, _ path: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        return request
    }

    /// A small request whose whole answer is read (JSON routes), with a timeout.
    public func send(_ method: HTTPMethod, _ path: String, json: JSONValue? = nil, timeout: Double = 10) async throws -> Response {
        var request = makeRequest(method, path)
        if let json {
            request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json.serialized(.compact)))
        }
        let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let body = try await response.body.collect(upTo: 256 << 20)
        return Response(status: Int(response.status.code), body: Array(body.readableBytesView))
    }

    public func get(_ path: String, timeout: Double = 10) async throws -> Response { try await send(.GET, path, timeout: timeout) }

    /// A streamed request: the caller reads the body as it arrives (e.g. `/view`).
    public func stream(_ method: HTTPMethod, _ path: String, headers extra: HTTPHeaders = [:], body: HTTPClientRequest.Body? = nil,
                       timeout: Double = 300) async throws -> HTTPClientResponse {
        var request = makeRequest(method, path)
        for header in extra { request.headers.replaceOrAdd(name: header.name, value: header.value) }
        if let body { request.body = body }
        return try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
    }

    /// The node's WebSocket URL for a client id.
    public func webSocketURL(clientID: String) -> String {
        let scheme = baseURL.hasPrefix("https://") ? "wss://" : "ws://"
        let rest = baseURL.drop { $0 != ":" }.dropFirst(3)
        return scheme + rest + "/ws?clientId=" + clientID
    }
}

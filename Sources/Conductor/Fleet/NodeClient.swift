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
    public func stream(
        _ method: HTTPMethod, _ path: String, headers extra: HTTPHeaders = [:], body: HTTPClientRequest.Body? = nil,
        timeout: Double = 300
    ) async throws -> HTTPClientResponse {
        var request = makeRequest(method, path)
        for header in extra { request.headers.replaceOrAdd(name: header.name, value: header.value) }
        if let body { request.body = body }
        return try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
    }

    /// `POST /upload/image` of a file on disk, streamed: the multipart body is the fields, then the file's bytes
    /// read in chunks, so a large file is never held in memory.
    public func upload(
        fileAt url: URL, size: Int64, filename: String, fields: [(String, String)], path: String = "/upload/image",
        timeout: Double = 600
    ) async throws -> Response {
        let boundary = "conductor-\(UUID().uuidString)"
        var head = ""
        for (name, value) in fields {
            head += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        let quoted = filename.replacingOccurrences(of: "\"", with: "%22")
        head += "--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"\(quoted)\"\r\n"
        head += "Content-Type: \(MediaType.of(filename: filename))\r\n\r\n"
        let tail = "\r\n--\(boundary)--\r\n"
        let handle = try FileHandle(forReadingFrom: url)
        let chunks = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
            continuation.yield(ByteBuffer(string: head))
            do {
                while let data = try handle.read(upToCount: 256 * 1024), !data.isEmpty {
                    continuation.yield(ByteBuffer(bytes: data))
                }
                continuation.yield(ByteBuffer(string: tail))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
            try? handle.close()
        }
        var request = makeRequest(.POST, path)
        request.headers.replaceOrAdd(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        request.body = .stream(chunks, length: .known(Int64(head.utf8.count) + size + Int64(tail.utf8.count)))
        let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Response(status: Int(response.status.code), body: Array(body.readableBytesView))
    }

    /// The node's WebSocket URL for a client id.
    public func webSocketURL(clientID: String) -> String {
        let scheme = baseURL.hasPrefix("https://") ? "wss://" : "ws://"
        let rest = baseURL.drop { $0 != ":" }.dropFirst(3)
        return scheme + rest + "/ws?clientId=" + clientID
    }
}

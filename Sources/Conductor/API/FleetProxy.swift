import AsyncHTTPClient
import ComfyWire
import ConductorCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// Requests Conductor answers by asking nodes: `/view` streamed from the node that made the file,
/// unions of discovery lists, and plain forwarding of everything else.
struct FleetProxy {
    let coordinator: Coordinator

    /// Headers a node must not see from a browser, or it answers 403 (comfyui-api.md §1.3).
    static let strippedRequestHeaders: Set<String> = [
        "host", "origin", "referer", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user", "connection",
        "content-length", "transfer-encoding", "upgrade", "keep-alive",
        // Conductor's own credentials stay at the front door; a node gets the ones cluster.json gives it.
        "authorization", "cookie", "x-conductor-principal", "x-conductor-role"
    ]
    /// Query parameters a node must not see: a browser's `?token=` is Conductor's key, not the node's.
    static let strippedQueryParameters: Set<String> = ["token"]
    static let passedResponseHeaders = [
        "content-type", "content-length", "content-disposition", "cache-control", "etag", "last-modified", "content-encoding",
        "accept-ranges", "content-range"
    ]

    /// `/view`: the subfolder names the node (`<node>/<subfolder>`); the node's answer is streamed through.
    func view(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        guard let filename = query.get("filename") else { return Response(status: .notFound) }
        guard let (client, subfolder) = await coordinator.outputSource(subfolder: query.get("subfolder") ?? "") else {
            return Response(status: .notFound)
        }
        // What reaches the node is inside its output folder by Conductor's own check, not only by the node's.
        if subfolder.split(separator: "/").contains("..") || subfolder.hasPrefix("/") { return Response(status: .forbidden) }
        var parameters: [(String, String)] = [("filename", filename), ("subfolder", subfolder)]
        for (key, value) in query where !["filename", "subfolder"].contains(String(key)) && !Self.strippedQueryParameters.contains(String(key)) {
            parameters.append((String(key), String(value)))
        }
        let path = "/view?" + parameters.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        var response = try await stream(path, from: client, request: request)
        if response.status == .ok {
            FileRoutes.protect(&response.headers, filename: FileReference(parsing: filename).filename)
        }
        return response
    }

    /// Any other GET, and the user's writes (settings, userdata, users): forwarded to the first healthy
    /// node, method, path, query and body untouched (`%2F` stays encoded), so one node keeps the user's state.
    func forward(_ request: Request, maxBodyBytes: Int = 100 * 1024 * 1024) async throws -> Response {
        guard let client = await coordinator.upNodes.first else {
            return Response(
                status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "No ComfyUI node is up")))
        }
        var body: HTTPClientRequest.Body?
        if request.method != .get, request.method != .head {
            do {
                body = .bytes(try await request.body.collect(upTo: maxBodyBytes))
            } catch {
                return Response(
                    status: .contentTooLarge, headers: [.contentType: "text/plain; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: "Maximum request body size \(maxBodyBytes) exceeded")))
            }
        }
        return try await stream(Self.withoutCredentials(request.uri.description), from: client, request: request, body: body)
    }

    /// The path and query as the client sent them (`%2F` stays encoded), less the parameters a node must not see.
    static func withoutCredentials(_ uri: String) -> String {
        guard let mark = uri.firstIndex(of: "?") else { return uri }
        let kept = uri[uri.index(after: mark)...].split(separator: "&", omittingEmptySubsequences: false).filter { pair in
            let name = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let decoded = String(name).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(name)
            return !strippedQueryParameters.contains(decoded)
        }
        let path = uri[..<mark]
        return kept.isEmpty ? String(path) : String(path) + "?" + kept.joined(separator: "&")
    }

    func stream(_ path: String, from client: NodeClient, request: Request, body: HTTPClientRequest.Body? = nil) async throws -> Response {
        var headers = HTTPHeaders()
        for field in request.headers where !Self.strippedRequestHeaders.contains(field.name.canonicalName) {
            headers.add(name: field.name.rawName, value: field.value)
        }
        let upstream: HTTPClientResponse
        do {
            upstream = try await client.stream(HTTPMethod(rawValue: request.method.rawValue), path, headers: headers, body: body)
        } catch {
            return Response(status: .badGateway)
        }
        var responseHeaders = HTTPFields()
        for name in Self.passedResponseHeaders {
            for value in upstream.headers[name] {
                if let field = HTTPField.Name(name) { responseHeaders.append(HTTPField(name: field, value: value)) }
            }
        }
        let status = HTTPResponse.Status(code: Int(upstream.status.code))
        // A small body (a thumbnail, a settings file) is read whole and sent with its head in one write; streaming it
        // chunk by chunk through the task that bridges the two connections costs more than the bytes.
        if request.method == .get, let length = upstream.headers.first(name: "content-length").flatMap(Int.init), length <= Self.bufferedBodyBytes {
            let body = try await upstream.body.collect(upTo: Self.bufferedBodyBytes)
            return Response(status: status, headers: responseHeaders, body: ResponseBody(byteBuffer: body))
        }
        return Response(status: status, headers: responseHeaders, body: ResponseBody(asyncSequence: upstream.body))
    }

    /// Bodies up to this size are passed on whole, larger ones streamed.
    static let bufferedBodyBytes = 256 * 1024

    /// A JSON list route answered by every healthy node, united; 404 when no node knows it.
    func union(_ path: String, sorted: Bool = false) async throws -> Response {
        var lists: [[JSONValue]] = []
        for client in await coordinator.upNodes {
            guard let answer = try? await client.get(path), answer.status == 200, let list = answer.json?.arrayValue else { continue }
            lists.append(list)
        }
        guard !lists.isEmpty else { return Response(status: .notFound) }
        return ConductorRoutes.json(.array(FleetMerge.union(lists, sorted: sorted)))
    }

    /// A JSON list of `{"name", …}` entries (`/experiment/models/{folder}`) from every healthy node, one entry
    /// per name (the first node's), sorted by name; 404 when no node knows the path.
    func unionByName(_ path: String) async throws -> Response {
        var entries: [String: JSONValue] = [:]
        var answered = false
        for client in await coordinator.upNodes {
            guard let answer = try? await client.get(path), answer.status == 200, let list = answer.json?.arrayValue else { continue }
            answered = true
            for entry in list {
                if let name = entry["name"]?.stringValue, entries[name] == nil { entries[name] = entry }
            }
        }
        guard answered else { return Response(status: .notFound) }
        return ConductorRoutes.json(.array(entries.sorted { $0.key < $1.key }.map(\.value)))
    }

    static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

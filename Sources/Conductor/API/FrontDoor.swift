import ComfyWire
import ConductorCore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Who may come in, checked before any route: ComfyUI's origin check, a Host allowlist against DNS
/// rebinding, and (when cluster.json lists keys) an API key on every route but the health probes.
///
/// A key is presented as `Authorization: Bearer <key>`, or, for a browser and its WebSocket, as `?token=<key>`
/// once (Conductor then sets an HttpOnly cookie) or the `conductor_token` cookie itself. Routes under
/// `/conductor/` (the operator's) need an admin key.
public struct FrontDoor: Sendable {
    /// The header the front door sets to the key's name for the routes behind it (any client-sent one is dropped).
    public static let principalHeader = HTTPField.Name("X-Conductor-Principal")!
    static let cookieName = "conductor_token"
    static let openPaths: Set<String> = ["/healthz", "/readyz"]

    /// Keys by the sha256 of their text, so a lookup compares digests rather than secrets.
    let keys: [String: ClusterConfig.Auth.Key]
    let allowedHosts: Set<String>

    public init(_ auth: ClusterConfig.Auth) {
        var keys: [String: ClusterConfig.Auth.Key] = [:]
        for key in auth.keys { keys[Self.digest(key.key)] = key }
        self.keys = keys
        allowedHosts = Set(auth.allowedHosts)
    }

    static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    enum Verdict: Equatable {
        case pass(principal: String?, setCookie: String?)
        case refuse(HTTPResponse.Status, String)
    }

    func verdict(method: HTTPRequest.Method, path: String, host: String?, origin: String?, secFetchSite: String?,
                 authorization: String?, queryToken: String?, cookie: String?) -> Verdict {
        let hostName = host.flatMap(Authority.hostname)?.lowercased()
        if !allowedHosts.isEmpty {
            guard let hostName, allowedHosts.contains(hostName) else { return .refuse(.forbidden, "Host not allowed") }
            if let origin, let originHost = Authority.ofOrigin(origin).flatMap(Authority.hostname),
                !allowedHosts.contains(originHost.lowercased())
            {
                return .refuse(.forbidden, "Origin not allowed")
            }
        }
        // ComfyUI's own check (comfyui-api.md §1.3).
        guard Authority.originAllowed(host: host, origin: origin, secFetchSite: secFetchSite) else { return .refuse(.forbidden, "") }
        guard !keys.isEmpty, !Self.openPaths.contains(path) else { return .pass(principal: nil, setCookie: nil) }
        var presented: String?
        var setCookie: String?
        if let authorization, authorization.lowercased().hasPrefix("bearer ") {
            presented = String(authorization.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        } else if let queryToken {
            presented = queryToken
            setCookie = "\(Self.cookieName)=\(queryToken); Path=/; HttpOnly; SameSite=Strict"
        } else if let cookie {
            presented = Self.cookieValue(Self.cookieName, in: cookie)
        }
        guard let presented, let key = keys[Self.digest(presented)] else {
            return .refuse(.unauthorized, "An API key is required: Authorization: Bearer <key>, or ?token=<key> in a browser")
        }
        if path.hasPrefix("/conductor/") || path == "/conductor", key.role != .admin {
            return .refuse(.forbidden, "This route needs an admin key")
        }
        return .pass(principal: key.name, setCookie: setCookie)
    }

    static func cookieValue(_ name: String, in header: String) -> String? {
        for piece in header.split(separator: ";") {
            let pair = piece.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix(name + "=") { return String(pair.dropFirst(name.count + 1)) }
        }
        return nil
    }
}

/// The front door as a router middleware (also in front of the WebSocket upgrade).
struct FrontDoorMiddleware<Context: RequestContext>: RouterMiddleware {
    let door: FrontDoor

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var head = request.head
        head.headerFields[FrontDoor.principalHeader] = nil
        let verdict = door.verdict(
            method: request.method, path: request.uri.path, host: request.head.authority ?? request.headers[HTTPField.Name("Host")!],
            origin: request.headers[.origin], secFetchSite: request.headers[HTTPField.Name("Sec-Fetch-Site")!],
            authorization: request.headers[.authorization], queryToken: request.uri.queryParameters.get("token"),
            cookie: request.headers[.cookie])
        switch verdict {
        case .refuse(let status, let message):
            var headers: HTTPFields = [:]
            if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
            guard !message.isEmpty else { return Response(status: status, headers: headers) }
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: status, headers: headers, body: .init(byteBuffer: .init(string: message + "\n")))
        case .pass(let principal, let setCookie):
            if request.method == .options { return Response(status: .ok) }
            if let principal { head.headerFields[FrontDoor.principalHeader] = principal }
            var response = try await next(Request(head: head, body: request.body), context)
            if let setCookie { response.headers[.setCookie] = setCookie }
            return response
        }
    }
}

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
/// once (Conductor then sets an HttpOnly cookie) or the `conductor_token` cookie itself. The operator's routes
/// (`/conductor/…`, `/metrics`) need an admin key: that is decided on the route the router matched
/// (`AdminOnlyMiddleware`), so no spelling of a path (`//conductor/…`) reaches them with a user key.
public struct FrontDoor: Sendable {
    /// The header the front door sets to the key's name for the routes behind it (any client-sent one is dropped).
    public static let principalHeader = HTTPField.Name("X-Conductor-Principal")!
    /// The header the front door sets to the key's role (`user`, `admin`); any client-sent one is dropped.
    static let roleHeader = HTTPField.Name("X-Conductor-Role")!
    static let cookieName = "conductor_token"
    static let openPaths: Set<String> = ["/healthz", "/readyz"]

    /// Keys by the sha256 of their text, so a lookup compares digests rather than secrets.
    let keys: [String: ClusterConfig.Auth.Key]
    let allowedHosts: Set<String>

    public init(_ auth: ClusterConfig.Auth) {
        var keys: [String: ClusterConfig.Auth.Key] = [:]
        for key in auth.keys { keys[Self.digest(key.key)] = key }
        self.keys = keys
        allowedHosts = Set(auth.allowedHosts.map { $0.lowercased() })
    }

    static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    var keysRequired: Bool { !keys.isEmpty }

    enum Verdict: Equatable {
        /// In, as `principal` with `role` (both nil when keys are off).
        case pass(principal: String?, role: ClusterConfig.Auth.Role?, setCookie: String?)
        case refuse(HTTPResponse.Status, String)
    }

    func verdict(
        method: HTTPRequest.Method, path: String, host: String?, origin: String?, secFetchSite: String?,
        authorization: String?, queryToken: String?, cookie: String?
    ) -> Verdict {
        if !allowedHosts.isEmpty {
            // The whole value must be one authority (`host[:port]`): `127.0.0.1:80@evil.com` or `localhost:evil.com`
            // are not "127.0.0.1" and "localhost".
            guard let hostName = host.flatMap(Authority.strictHostname), allowedHosts.contains(hostName) else {
                return .refuse(.forbidden, "Host not allowed")
            }
            if let origin {
                guard let originHost = Authority.ofOrigin(origin).flatMap(Authority.strictHostname), allowedHosts.contains(originHost) else {
                    return .refuse(.forbidden, "Origin not allowed")
                }
            }
        }
        // ComfyUI's own check (comfyui-api.md §1.3).
        guard Authority.originAllowed(host: host, origin: origin, secFetchSite: secFetchSite) else { return .refuse(.forbidden, "") }
        guard !keys.isEmpty, !Self.openPaths.contains(path) else { return .pass(principal: nil, role: nil, setCookie: nil) }
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
        return .pass(principal: key.name, role: key.role, setCookie: setCookie)
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
struct FrontDoorMiddleware: RouterMiddleware {
    typealias Context = ConductorRequestContext
    let door: FrontDoor

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var head = request.head
        head.headerFields[FrontDoor.principalHeader] = nil
        head.headerFields[FrontDoor.roleHeader] = nil
        // The first Host is the request's authority; one left among the fields is a second: which of the two a proxy
        // in front read is anyone's guess.
        if request.head.authority != nil, request.headers[HTTPField.Name("Host")!] != nil {
            return Response(
                status: .badRequest, headers: [.contentType: "text/plain; charset=utf-8", .connection: "close"],
                body: .init(byteBuffer: .init(string: "More than one Host header\n")))
        }
        let verdict = door.verdict(
            method: request.method, path: request.uri.path, host: request.head.authority ?? request.headers[HTTPField.Name("Host")!],
            origin: request.headers[.origin], secFetchSite: request.headers[HTTPField.Name("Sec-Fetch-Site")!],
            authorization: request.headers[.authorization], queryToken: request.uri.queryParameters.get("token"),
            cookie: request.headers[.cookie])
        switch verdict {
        case .refuse(let status, let message):
            if request.headers[.upgrade]?.lowercased() == "websocket" {
                // Hummingbird answers any refused upgrade 400; the connection's guard answers this one as decided.
                let channel = context.channel
                let statusLine = "\(status.code) \(status.reasonPhrase)"
                channel.eventLoop.execute {
                    try? channel.pipeline.syncOperations.handler(type: FirstRequestGuard.self).refuseUpgrade(status: statusLine)
                }
            }
            var headers: HTTPFields = [:]
            if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
            guard !message.isEmpty else { return Response(status: status, headers: headers) }
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: status, headers: headers, body: .init(byteBuffer: .init(string: message + "\n")))
        case .pass(let principal, let role, let setCookie):
            if request.method == .options { return Response(status: .ok) }
            if let principal { head.headerFields[FrontDoor.principalHeader] = principal }
            if let role { head.headerFields[FrontDoor.roleHeader] = role.rawValue }
            var response = try await next(Request(head: head, body: request.body), context)
            if let setCookie { response.headers[.setCookie] = setCookie }
            return response
        }
    }
}

/// Put on the operator's route groups: with keys on, only an admin key gets past it. It runs after the router has
/// matched the route, so it guards the handler however the path was spelled.
struct AdminOnlyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keysRequired: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keysRequired || request.headers[FrontDoor.roleHeader] == ClusterConfig.Auth.Role.admin.rawValue else {
            return Response(
                status: .forbidden, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: .init(string: "This route needs an admin key\n")))
        }
        return try await next(request, context)
    }
}

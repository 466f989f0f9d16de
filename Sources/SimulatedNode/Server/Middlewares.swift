import Foundation
import HTTPTypes
import Hummingbird

/// ComfyUI's default origin check (comfyui-api.md §1.3): cross-site fetches and a loopback Host
/// with a different Origin get 403 with no body.
struct OriginCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.headers[HTTPField.Name("Sec-Fetch-Site")!] == "cross-site" { return Response(status: .forbidden) }
        if let host = request.head.authority ?? request.headers[HTTPField.Name("Host")!], let origin = request.headers[.origin],
            let hostName = Self.hostname(host), Self.isLoopback(hostName)
        {
            let originHost = URL(string: origin)?.host ?? ""
            if originHost.lowercased() != hostName.lowercased() { return Response(status: .forbidden) }
            let hostPort = Self.port(host), originPort = URL(string: origin)?.port
            if let hostPort, let originPort, hostPort != originPort { return Response(status: .forbidden) }
        }
        if request.method == .options { return Response(status: .ok) }
        return try await next(request, context)
    }

    static func hostname(_ authority: String) -> String? {
        if authority.hasPrefix("[") { return authority.split(separator: "]").first.map { String($0.dropFirst()) } }
        return authority.split(separator: ":").first.map(String.init)
    }

    static func port(_ authority: String) -> Int? {
        guard let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") else { return nil }
        return Int(authority[authority.index(after: colon)...])
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }
}

/// Applies the connection faults to every HTTP request: while the node is down, a connection that
/// was already open is cut (as a dead process's would be); `slowResponses` delays the answer.
struct FaultMiddleware: RouterMiddleware {
    typealias Context = SimulatedNodeContext
    let node: SimulatedNode

    struct ConnectionCut: Error {}

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let (down, delay) = await node.requestGate()
        if down {
            context.channel.close(promise: nil)
            throw ConnectionCut()
        }
        if delay > 0 { try await Task.sleep(for: .seconds(delay)) }
        return try await next(request, context)
    }
}

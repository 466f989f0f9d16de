import ComfyWire
import Foundation
import HTTPTypes
import Hummingbird

/// ComfyUI's default origin check (comfyui-api.md §1.3): cross-site fetches and a loopback Host
/// with a different Origin get 403 with no body.
struct OriginCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let allowed = Authority.originAllowed(
            host: request.head.authority ?? request.headers[HTTPField.Name("Host")!], origin: request.headers[.origin],
            secFetchSite: request.headers[HTTPField.Name("Sec-Fetch-Site")!])
        guard allowed else { return Response(status: .forbidden) }
        if request.method == .options { return Response(status: .ok) }
        return try await next(request, context)
    }
}

/// Applies the connection faults to every HTTP request: while the node is down, a connection that
/// was already open is cut (as a dead process's would be); `slowResponses` delays the answer.
struct FaultMiddleware: RouterMiddleware {
    typealias Context = SimulatedNodeContext
    let node: SimulatedNode

    struct ConnectionCut: Error {}

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        await node.untilThawed()
        let (down, delay) = await node.requestGate("\(request.method.rawValue) \(request.uri.description)")
        if down {
            context.channel.close(promise: nil)
            throw ConnectionCut()
        }
        if delay > 0 { try await Task.sleep(for: .seconds(delay)) }
        await node.untilUnstalled("\(request.method.rawValue) \(request.uri.path)")
        return try await next(request, context)
    }
}

import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Hummingbird's WebSocket request context, with the connection's channel kept: the front door needs it to answer a
/// refused WebSocket upgrade with 401/403 rather than the fixed 400 a refused upgrade gets.
public struct ConductorRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

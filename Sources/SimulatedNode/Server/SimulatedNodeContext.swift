import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of a simulated node: Hummingbird's, plus the connection's channel so a
/// simulated crash can cut connections that were already open.
public struct SimulatedNodeContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

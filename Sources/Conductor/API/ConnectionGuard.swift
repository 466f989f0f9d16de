import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import Prometheus

/// The HTTP/WebSocket server's connections with Conductor's limits around them, so an unauthenticated client cannot
/// starve the fleet: a request head must arrive within `headerTimeout` of opening the connection, a request the
/// parser refuses is answered 400 and closed, a refused WebSocket upgrade gets the front door's status, a client
/// WebSocket frame without a mask closes the socket, and (with `ConnectionCount`) at most `limits.maxConnections` are
/// open.
///
/// Hummingbird's HTTP/1 channel handles what comes after the first request head (its `idleTimeout` closes a
/// keep-alive connection that sends nothing, or a head byte at a time, for that long). What comes before it, in the
/// WebSocket-upgrading pipeline, has no deadline and no answer for a malformed head; this wrapper adds both.
struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let headerTimeout: TimeAmount
    let metrics: ConductorMetrics

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let firstRequest = FirstRequestGuard(timeout: headerTimeout, metrics: metrics)
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(firstRequest, position: .first)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }.flatMapThrowing { value in
            try channel.pipeline.syncOperations.addHandler(FirstRequestErrors())
            try channel.pipeline.syncOperations.addHandler(ClientFramesMasked(), position: .first)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
        // The upgrading pipeline can end a connection's handling without a word and leave the socket open (an
        // upgrade the front door refused, a negotiation that failed): answer it (the refusal's status, else 400) and
        // close.
        let channel = value.channel
        guard channel.isActive else { return }
        try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: FirstRequestGuard.self).refuse(status: "400 Bad Request")
        }.get()
    }
}

/// First in the pipeline, on raw bytes: closes a connection whose first request head (up to its blank line) has not
/// arrived within the timeout, and answers a request the HTTP layer never answered (a malformed head, a WebSocket
/// upgrade the front door refused, with the status it decided).
final class FirstRequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let timeout: TimeAmount
    let metrics: ConductorMetrics
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// How much of "\r\n\r\n" the bytes read so far end with.
    private var matched = 0
    private var headSeen = false
    private var wroteAnything = false
    private var upgradeRefusal: String?
    /// Whether anything was written on the connection (an answer began).
    var answered: Bool { wroteAnything }

    init(timeout: TimeAmount, metrics: ConductorMetrics) {
        self.timeout = timeout
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { startTimer(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        startTimer(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    private func startTimer(_ context: ChannelHandlerContext) {
        guard timer == nil, !headSeen else { return }
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            guard !handler.headSeen else { return }
            handler.metrics.connectionsTimedOut.increment()
            handler.refuse(status: "408 Request Timeout", context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !headSeen {
            let buffer = unwrapInboundIn(data)
            let pattern: [UInt8] = [13, 10, 13, 10]
            for byte in buffer.readableBytesView {
                matched = byte == pattern[matched] ? matched + 1 : (byte == 13 ? 1 : 0)
                if matched == 4 {
                    headSeen = true
                    timer?.cancel()
                    break
                }
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        wroteAnything = true
        context.write(data, promise: promise)
    }

    /// The front door refused this connection's WebSocket upgrade with `status` (`401 Unauthorized`, …): Hummingbird
    /// ends such a connection without an answer, and `refuse` then answers with this status.
    func refuseUpgrade(status: String) {
        if !wroteAnything { upgradeRefusal = status }
    }

    /// Answers with `status` (when nothing was written on the connection yet) and closes it.
    func refuse(status: String) {
        guard let context else { return }
        refuse(status: status, context: context)
    }

    private func refuse(status: String, context: ChannelHandlerContext) {
        if !wroteAnything {
            wroteAnything = true
            // A refused WebSocket upgrade (Hummingbird gives up on it without a word) gets the front door's status.
            let status = upgradeRefusal ?? status
            var head = "HTTP/1.1 \(status)\r\nConnection: close\r\nContent-Length: 0\r\n"
            if status.hasPrefix("401") { head += "WWW-Authenticate: Bearer\r\n" }
            Self.answerAndClose(head + "\r\n", context: context)
        } else {
            context.close(promise: nil)
        }
    }

    /// Writes `response` straight to the socket and closes the connection once it is out.
    private static func answerAndClose(_ response: String, context: ChannelHandlerContext) {
        let channel = context.channel
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        context.writeAndFlush(NIOAny(channel.allocator.buffer(string: response)), promise: written)
    }
}

/// After the HTTP decoder: an error before anything was answered (the parser refused the first request head) is
/// answered 400 and the connection closed, where the upgrading pipeline would leave it hanging. Later errors go on to
/// Hummingbird's HTTP handling, which answers them itself.
final class FirstRequestErrors: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let guardHandler = try? context.pipeline.syncOperations.handler(type: FirstRequestGuard.self),
            !guardHandler.answered
        else {
            context.fireErrorCaught(error)
            return
        }
        guardHandler.refuse(status: "400 Bad Request")
    }
}

/// RFC 6455 §5.1: a server closes the connection when a client sends a frame that is not masked (1002, protocol
/// error). NIO's frame decoder accepts such frames, so once the connection has switched to WebSocket (a 101 went out)
/// this reads the raw frame headers as they pass — length and mask bit only; payloads are skipped, not copied.
final class ClientFramesMasked: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var webSocket = false
    private var refused = false
    /// The current frame header's bytes read so far, and what is left of its payload (mask key included).
    private var header: [UInt8] = []
    private var remaining: UInt64 = 0

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !webSocket, unwrapOutboundIn(data).readableBytesView.starts(with: "HTTP/1.1 101".utf8) { webSocket = true }
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard webSocket else { return context.fireChannelRead(data) }
        guard !refused else { return }
        let bytes = unwrapInboundIn(data).readableBytesView
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if remaining > 0 {
                let skip = Int(min(remaining, UInt64(bytes.endIndex - index)))
                index += skip
                remaining -= UInt64(skip)
                continue
            }
            header.append(bytes[index])
            index += 1
            guard header.count >= 2 else { continue }
            let short = header[1] & 0x7F
            let needed = 2 + (short == 126 ? 2 : short == 127 ? 8 : 0)
            guard header.count == needed else { continue }
            guard header[1] & 0x80 != 0 else {
                // Close frame, code 1002, then close.
                refused = true
                let channel = context.channel
                let written = context.eventLoop.makePromise(of: Void.self)
                written.futureResult.whenComplete { _ in channel.close(promise: nil) }
                context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: [0x88, 0x02, 0x03, 0xEA])), promise: written)
                return
            }
            var length = UInt64(short)
            if short >= 126 { length = header[2...].reduce(0) { $0 << 8 | UInt64($1) } }
            remaining = length + 4  // the masking key, then the payload
            header = []
        }
        context.fireChannelRead(data)
    }
}

/// Hummingbird's connection cap (it stops accepting while `maxConnections` are open), with the count and the times
/// the cap was reached in `/metrics`.
struct ConnectionCount: AvailableConnectionsDelegate {
    let maxConnections: Int
    let metrics: ConductorMetrics
    var open = 0

    init(maxConnections: Int, metrics: ConductorMetrics) {
        self.maxConnections = maxConnections
        self.metrics = metrics
    }

    mutating func connectionOpened() {
        open += 1
        metrics.httpConnections.set(to: Double(open))
        if open == maxConnections { metrics.connectionLimitReached.increment() }
    }

    mutating func connectionClosed() {
        open -= 1
        metrics.httpConnections.set(to: Double(open))
    }

    func isAcceptingNewConnections() -> Bool { open < maxConnections }
}

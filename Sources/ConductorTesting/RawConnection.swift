import NIOCore
import NIOPosix
import Synchronization

/// A plain TCP connection on loopback for what an HTTP client library will not send: malformed heads, a header byte
/// at a time, a connection that says nothing. What the server sends is gathered as it arrives; each read waits until
/// what has arrived so far satisfies it, the server closes, or a deadline passes, and returns all of it.
public struct RawConnection: Sendable {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    let received: ReceivedBytes
    let reader: Task<Void, Never>

    public static func open(port: Int) async throws -> RawConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let received = ReceivedBytes()
        let reader = Task {
            do {
                for try await chunk in channel.inbound { received.append(chunk) }
            } catch {}
            received.markClosed()
        }
        return RawConnection(channel: channel, received: received, reader: reader)
    }

    public func send(_ text: String) async throws {
        try await channel.outbound.write(ByteBuffer(string: text))
    }

    public func sendBytes(_ bytes: [UInt8]) async throws {
        try await channel.outbound.write(ByteBuffer(bytes: bytes))
    }

    /// What the server sent until it closed the connection, or until `timeout`; `closed` says which.
    public func readUntilClosed(timeout: Duration) async throws -> (text: String, closed: Bool) {
        let (bytes, closed) = try await readBytes(timeout: timeout, until: { _ in false })
        return (String(decoding: bytes, as: UTF8.self), closed)
    }

    /// The bytes the server sent until it closed the connection, or until `timeout`.
    public func readBytesUntilClosed(timeout: Duration) async throws -> (bytes: [UInt8], closed: Bool) {
        try await readBytes(timeout: timeout, until: { _ in false })
    }

    /// What the server sent once a response head is complete (or it closed the connection, or `timeout`).
    public func readResponseHead(timeout: Duration) async throws -> String {
        let bytes = try await readBytes(timeout: timeout, until: { $0.firstRange(of: [13, 10, 13, 10] as [UInt8]) != nil }).bytes
        return String(decoding: bytes, as: UTF8.self)
    }

    func readBytes(timeout: Duration, until enough: ([UInt8]) -> Bool) async throws -> (bytes: [UInt8], closed: Bool) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (bytes, closed) = received.state
            if closed || enough(bytes) || ContinuousClock.now >= deadline { return (bytes, closed) }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    public func close() async {
        reader.cancel()
        try? await channel.channel.close()
    }
}

/// A TCP relay on loopback in front of a port, as a proxy or a load balancer in the path would be; it can drop its
/// connections the way such a box does when it times them out: a FIN to the client and nothing more.
public final class TCPRelay: Sendable {
    public let port: Int
    let server: any Channel
    let pairs: RelayedPairs

    public static func start(to target: Int) async throws -> TCPRelay {
        let pairs = RelayedPairs()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { client in
                let dead = RelayFlag()
                return ClientBootstrap(group: client.eventLoop)
                    .channelInitializer { upstream in
                        upstream.eventLoop.makeCompletedFuture {
                            try upstream.pipeline.syncOperations.addHandler(RelayForward(to: client, dead: dead))
                        }
                    }
                    .connect(host: "127.0.0.1", port: target)
                    .flatMap { upstream in
                        pairs.storage.withLock { $0.append((client, upstream, dead)) }
                        return client.eventLoop.makeCompletedFuture {
                            try client.pipeline.syncOperations.addHandler(RelayForward(to: upstream, dead: dead))
                        }
                    }
                    .flatMapError { _ in
                        // Its upstream refused: as a plain relay does, the client gets a FIN and no answer, and the
                        // connection stays open on the relay's side.
                        client.eventLoop.makeCompletedFuture {
                            try client.pipeline.syncOperations.addHandler(FinAndSilence())
                        }
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TCPRelay(port: server.localAddress?.port ?? 0, server: server, pairs: pairs)
    }

    init(port: Int, server: any Channel, pairs: RelayedPairs) {
        self.port = port
        self.server = server
        self.pairs = pairs
    }

    /// Every connection so far: its upstream closed, and only a FIN (no close frame, no reset) sent to its client,
    /// whose later bytes go nowhere. New connections are relayed as before.
    public func halfCloseAll() {
        let current = pairs.storage.withLock { pairs in
            defer { pairs.removeAll() }
            return pairs
        }
        for pair in current {
            pair.dead.set()
            pair.client.close(mode: .output, promise: nil)
            pair.upstream.close(promise: nil)
        }
    }

    public func stop() async {
        try? await server.close()
        for pair in pairs.storage.withLock({ $0 }) {
            pair.client.close(promise: nil)
            pair.upstream.close(promise: nil)
        }
    }
}

/// Bytes read so far, shared with the task that reads them.
final class ReceivedBytes: Sendable {
    private let storage = Mutex<(bytes: [UInt8], closed: Bool)>(([], false))
    var state: (bytes: [UInt8], closed: Bool) { storage.withLock { $0 } }
    func append(_ chunk: ByteBuffer) { storage.withLock { $0.bytes += Array(chunk.readableBytesView) } }
    func markClosed() { storage.withLock { $0.closed = true } }
}

/// The relay's open connections, each with the flag that says it was dropped.
final class RelayedPairs: Sendable {
    let storage = Mutex<[(client: any Channel, upstream: any Channel, dead: RelayFlag)]>([])
}

/// Set once a relayed connection has been dropped.
final class RelayFlag: Sendable {
    private let storage = Atomic<Bool>(false)
    var value: Bool { storage.load(ordering: .relaxed) }
    func set() { storage.store(true, ordering: .relaxed) }
}

/// Sends a FIN once the connection is up, and ignores what it reads.
final class FinAndSilence: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        context.close(mode: .output, promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

/// Writes what one side of a relayed connection reads to the other side, until the connection is dropped.
final class RelayForward: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let partner: any Channel
    let dead: RelayFlag

    init(to partner: any Channel, dead: RelayFlag) {
        self.partner = partner
        self.dead = dead
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !dead.value else { return }
        partner.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !dead.value { partner.close(promise: nil) }
        context.fireChannelInactive()
    }
}

/// An open WebSocket to the server: the client id it was given, and the frames as they arrive.
public final class EventSession {
    /// The client id the server uses for this socket (ours when we asked for one).
    public let sid: String
    private var iterator: AsyncStream<ServerEvent>.Iterator
    private var first: ServerEvent?

    init(sid: String, first: ServerEvent, iterator: AsyncStream<ServerEvent>.Iterator) {
        self.sid = sid
        self.first = first
        self.iterator = iterator
    }

    /// The next frame, starting with the server's first `status`; nil once the socket has closed.
    public func next() async -> ServerEvent? {
        if let first {
            self.first = nil
            return first
        }
        return await iterator.next()
    }
}

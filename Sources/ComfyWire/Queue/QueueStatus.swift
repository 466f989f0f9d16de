/// The body of `GET /queue`: what runs now and what waits.
public struct QueueStatus: Sendable, Hashable {
    /// At most one item in practice.
    public var running: [QueueItem]
    /// In the server's binary-heap order, not sorted; element 0 runs next.
    public var pending: [QueueItem]

    public init(running: [QueueItem] = [], pending: [QueueItem] = []) {
        self.running = running
        self.pending = pending
    }

    public init(json: JSONValue) throws(WireFormatError) {
        let context = "queue"
        let object = try json.object(in: context)
        var running: [QueueItem] = []
        for item in try object.value("queue_running", in: context).array(in: "\(context) queue_running") {
            running.append(try QueueItem(json: item))
        }
        var pending: [QueueItem] = []
        for item in try object.value("queue_pending", in: context).array(in: "\(context) queue_pending") {
            pending.append(try QueueItem(json: item))
        }
        self.init(running: running, pending: pending)
    }

    public var json: JSONValue {
        ["queue_running": .array(running.map(\.json)), "queue_pending": .array(pending.map(\.json))]
    }
}

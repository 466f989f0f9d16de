import Synchronization

/// Work kept in order per node, each node's work done by its own task, so one node's slowness (a delivery that
/// hangs, a `POST /prompt` that waits its 30 s) holds up only that node's work.
///
/// A lane holds at most `limit` pieces of work; what comes while it is full is refused (`submit` returns false). The
/// lanes' tasks live in `run()`'s task group: cancelling it stops them.
final class NodeLanes: Sendable {
    typealias Work = @Sendable () async -> Void

    private struct Lane {
        var waiting: [Work] = []
        let wake: AsyncStream<Void>.Continuation
    }

    private let limit: Int
    private let lanes = Mutex<[String: Lane]>([:])
    private let opened: AsyncStream<(String, AsyncStream<Void>)>
    private let open: AsyncStream<(String, AsyncStream<Void>)>.Continuation

    init(limit: Int) {
        self.limit = limit
        (opened, open) = AsyncStream<(String, AsyncStream<Void>)>.makeStream()
    }

    /// Runs every lane's work until cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            for await (node, wakes) in opened {
                group.addTask {
                    for await _ in wakes {
                        while let work = self.next(node) { await work() }
                    }
                }
            }
        }
    }

    private func next(_ node: String) -> Work? {
        lanes.withLock { lanes in
            guard var lane = lanes[node], !lane.waiting.isEmpty else { return nil }
            let first = lane.waiting.removeFirst()
            lanes[node] = lane
            return first
        }
    }

    /// Queues `work` behind what the node's lane already holds; false when the lane is full.
    @discardableResult
    func submit(_ node: String, _ work: @escaping Work) -> Bool {
        lanes.withLock { lanes in
            var lane: Lane
            if let existing = lanes[node] {
                lane = existing
            } else {
                let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
                open.yield((node, wakes))
                lane = Lane(wake: wake)
            }
            guard lane.waiting.count < limit else { return false }
            lane.waiting.append(work)
            lanes[node] = lane
            lane.wake.yield()
            return true
        }
    }

    /// Ends a node's lane once its waiting work is done (a node removed from the fleet).
    func close(_ node: String) {
        lanes.withLock { $0.removeValue(forKey: node) }?.wake.finish()
    }
}

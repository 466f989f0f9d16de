import ComfyWire

/// Which of the prompt ids given to `conductor cancel` are waiting, which one runs, and which the queue does not hold.
public struct Cancellation: Sendable, Hashable {
    public var pending: [String] = []
    public var running: [String] = []
    /// Finished, never queued, or mistyped.
    public var unknown: [String] = []

    public init(ids: [String], queue: QueueStatus) {
        for id in ids {
            if queue.pending.contains(where: { $0.promptID == id }) {
                pending.append(id)
            } else if queue.running.contains(where: { $0.promptID == id }) {
                running.append(id)
            } else {
                unknown.append(id)
            }
        }
    }
}

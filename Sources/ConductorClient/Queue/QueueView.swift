import ComfyWire
import Foundation

/// `conductor queue` for people: one row per running or pending prompt, in run order.
public enum QueueView {
    public static func render(_ status: QueueStatus, width: Int?, now: Date = Date()) -> [String] {
        if status.running.isEmpty && status.pending.isEmpty { return ["The queue is empty."] }
        var table = Table([
            .init("STATE"), .init("#", alignRight: true), .init("PROMPT ID"), .init("CLIENT ID", flexible: true),
            .init("NUMBER", alignRight: true), .init("QUEUED", alignRight: true), .init("OUTPUT NODES", flexible: true)
        ])
        for item in status.running {
            table.append(row(item, state: "running", position: "-", now: now))
        }
        for (index, item) in status.pending.enumerated() {
            table.append(row(item, state: "pending", position: String(index + 1), now: now))
        }
        return table.render(width: width) + ["\(status.running.count) running, \(status.pending.count) pending"]
    }

    static func row(_ item: QueueItem, state: String, position: String, now: Date) -> [String] {
        [
            state, position, item.promptID, item.clientID ?? "-", item.number.literal,
            item.createTime.map { Durations.ago(milliseconds: $0, now: now) } ?? "-",
            item.outputsToExecute.sorted(by: Durations.nodeIDOrder).joined(separator: ",")
        ]
    }
}

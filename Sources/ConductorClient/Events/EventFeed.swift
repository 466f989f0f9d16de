import ComfyWire

/// Turns the WebSocket's frames into lines a person can follow (`conductor watch`).
///
/// Pure: the caller passes the time of day and draws the lines. Progress is a transient line on a
/// terminal (redrawn in place) and a plain line at each quarter elsewhere.
public struct EventFeed: Sendable {
    /// A line that stays, or one that the next line replaces (terminal only).
    public enum Line: Sendable, Hashable {
        case permanent(String)
        case transient(String)
    }

    let isTerminal: Bool
    private var workflows: [String: Workflow] = [:]
    private var quarters: [String: Int] = [:]
    private var starts: [String: Int64] = [:]

    public init(isTerminal: Bool) { self.isTerminal = isTerminal }

    /// Names a prompt's nodes by their titles and classes from now on.
    public mutating func learn(promptID: String, workflow: Workflow) { workflows[promptID] = workflow }

    /// Whether the feed already knows a prompt's graph.
    public func knows(_ promptID: String) -> Bool { workflows[promptID] != nil }

    /// The lines for one frame; `time` is the local time of day to print (`12:00:01`).
    public mutating func lines(for event: ServerEvent, time: String) -> [Line] {
        switch event {
        case .message(let message):
            return lines(for: message, time: time)
        case .binary(.text(let nodeID, let text)):
            return [.permanent("\(time)  node \(nodeID): \(text)")]
        case .binary, .unreadable:
            return []
        }
    }

    mutating func lines(for message: ServerMessage, time: String) -> [Line] {
        let id = message.promptID ?? ""
        let prefix = "\(time)  \(id.prefix(8))"
        func label(_ node: String) -> String { workflows[id]?.label(of: node) ?? node }
        switch message {
        case .status(let remaining, _):
            return [.permanent("\(time)  queue: \(remaining) remaining")]
        case .executionStart(_, let timestamp):
            starts[id] = timestamp
            return [.permanent("\(prefix)  started")]
        case .executionCached(let nodes, _, _):
            return nodes.isEmpty ? [] : [.permanent("\(prefix)  cached: \(nodes.map(label).joined(separator: ", "))")]
        case .executing(let node?, _, nil):
            return [.permanent("\(time)  executing node \(node)")]
        case .executing(let node?, _, _):
            return [.permanent("\(prefix)  running node \(label(node))")]
        case .executing(nil, _, _):
            return []
        case .progress(let value, let max, _, let node):
            let current = value.double ?? 0, total = max.double ?? 0
            let text = "\(prefix)  node \(label(node ?? "?"))  "
            if isTerminal {
                return [.transient(text + ProgressBar.render(value: current, max: total, cells: 20))]
            }
            let key = id + "\u{0}" + (node ?? "")
            let quarter = total > 0 ? Int((current / total * 4).rounded(.down)) : 0
            guard quarter > (quarters[key] ?? 0) else { return [] }
            quarters[key] = quarter
            return [
                .permanent(text + "\(ProgressBar.percent(value: current, max: total))  \(ProgressBar.count(current))/\(ProgressBar.count(total))")
            ]
        case .executed(let node, _, let output, _):
            let files = OutputFile.all(in: output, nodeID: node)
            guard !files.isEmpty else { return [] }
            return [.permanent("\(prefix)  node \(label(node)) output: \(files.map(\.path).joined(separator: ", "))")]
        case .executionSuccess(_, let timestamp):
            return [.permanent("\(prefix)  finished: success\(took(id, timestamp))")]
        case .executionError(let error):
            if error.isBlocked { return [.permanent("\(prefix)  blocked at node \(label(error.nodeID)): \(error.exceptionMessage)")] }
            return [.permanent("\(prefix)  failed at node \(label(error.nodeID)): \(error.exceptionMessage)\(took(id, error.timestamp))")]
        case .executionInterrupted(let interrupted):
            return [.permanent("\(prefix)  interrupted at node \(label(interrupted.nodeID))")]
        case .progressState, .featureFlags, .logs:
            return []
        case .other(let type, _):
            return [.permanent("\(time)  \(type)")]
        }
    }

    private func took(_ id: String, _ end: Int64?) -> String {
        guard let start = starts[id], let end else { return "" }
        return " (\(Durations.text(seconds: Double(end - start) / 1000)))"
    }
}

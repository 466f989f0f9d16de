import ComfyWire

/// What `submit --wait` knows about the prompts it follows, updated message by message.
///
/// Pure: it takes WebSocket messages (or a history entry when the socket is gone) and says what
/// changed; the command saves files and draws. Times come from the messages' own timestamps.
public struct JobTracker: Sendable {
    public enum State: Sendable, Hashable {
        case queued
        case running
        case succeeded
        /// The node that raised, and its message.
        case failed(String)
        /// The node that was running when the interrupt took effect.
        case interrupted(String)

        public var isFinal: Bool {
            switch self {
            case .queued, .running: false
            default: true
            }
        }
    }

    /// The progress bar of one sampling node (a node that sends `progress`).
    public struct Bar: Sendable, Hashable {
        public var nodeID: String
        public var label: String
        public var value: Double
        public var max: Double

        public init(nodeID: String, label: String, value: Double, max: Double) {
            self.nodeID = nodeID
            self.label = label
            self.value = value
            self.max = max
        }
    }

    public struct Job: Sendable {
        public let promptID: String
        /// `2/3` when several variants were submitted, else empty.
        public let variant: String
        public internal(set) var state: State = .queued
        /// The graph node running now.
        public internal(set) var currentNode: String?
        public internal(set) var bars: [Bar] = []
        /// Every file the prompt's output nodes reported.
        public internal(set) var files: [OutputFile] = []
        public internal(set) var startedAt: Int64?
        public internal(set) var endedAt: Int64?

        /// The first 8 characters of the prompt id, and the variant.
        public var shortName: String {
            String(promptID.prefix(8)) + (variant.isEmpty ? "" : " [\(variant)]")
        }

        /// Seconds between `execution_start` and the end, when both were seen.
        public var seconds: Double? {
            guard let startedAt, let endedAt else { return nil }
            return Double(endedAt - startedAt) / 1000
        }
    }

    /// What a message changed.
    public enum Change: Sendable, Hashable {
        /// Redraw: a state, node or bar moved.
        case updated(promptID: String)
        /// Output nodes reported files: save them.
        case outputs(promptID: String, [OutputFile])
        /// The prompt ended (see its state).
        case finished(promptID: String)
    }

    let workflow: Workflow
    public private(set) var jobs: [Job] = []

    public init(workflow: Workflow) { self.workflow = workflow }

    /// Starts following a submitted prompt.
    public mutating func follow(promptID: String, variant: String = "") {
        jobs.append(Job(promptID: promptID, variant: variant))
    }

    public var allFinished: Bool { jobs.allSatisfy(\.state.isFinal) }
    public var succeeded: Bool { jobs.allSatisfy { $0.state == .succeeded } }
    public func job(_ promptID: String) -> Job? { jobs.first { $0.promptID == promptID } }

    /// Applies one message; messages about other prompts change nothing.
    public mutating func handle(_ message: ServerMessage) -> [Change] {
        guard let id = message.promptID, let index = jobs.firstIndex(where: { $0.promptID == id }), !jobs[index].state.isFinal else {
            return []
        }
        switch message {
        case .executionStart(_, let timestamp):
            jobs[index].state = .running
            jobs[index].startedAt = timestamp
            return [.updated(promptID: id)]
        case .executing(let node?, _, _):
            jobs[index].state = .running
            jobs[index].currentNode = node
            return [.updated(promptID: id)]
        case .executing(nil, _, _):
            // The end marker; reaching it without an error or interrupt means success.
            jobs[index].state = .succeeded
            return [.finished(promptID: id)]
        case .progress(let value, let max, _, let node?):
            let bar = Bar(nodeID: node, label: workflow.label(of: node), value: value.double ?? 0, max: max.double ?? 0)
            if let existing = jobs[index].bars.firstIndex(where: { $0.nodeID == node }) {
                jobs[index].bars[existing] = bar
            } else {
                jobs[index].bars.append(bar)
            }
            jobs[index].state = .running
            return [.updated(promptID: id)]
        case .executed(let node, _, let output, _):
            let files = OutputFile.all(in: output, nodeID: node).filter { !jobs[index].files.contains($0) }
            jobs[index].files += files
            return files.isEmpty ? [] : [.outputs(promptID: id, files)]
        case .executionSuccess(_, let timestamp):
            jobs[index].endedAt = timestamp
            jobs[index].state = .succeeded
            for bar in jobs[index].bars.indices { jobs[index].bars[bar].value = jobs[index].bars[bar].max }
            jobs[index].currentNode = nil
            return [.finished(promptID: id)]
        case .executionError(let error) where !error.isBlocked:
            jobs[index].endedAt = error.timestamp
            jobs[index].state = .failed("node \(workflow.label(of: error.nodeID)): \(error.exceptionMessage)")
            return [.finished(promptID: id)]
        case .executionInterrupted(let interrupted):
            jobs[index].endedAt = interrupted.timestamp
            jobs[index].state = .interrupted("node \(workflow.label(of: interrupted.nodeID))")
            return [.finished(promptID: id)]
        default:
            return []
        }
    }

    /// Finishes a prompt from its history entry (when the WebSocket closed before its end): its
    /// outcome, and any output files no message reported.
    public mutating func handle(history entry: HistoryEntry, promptID id: String) -> [Change] {
        guard let index = jobs.firstIndex(where: { $0.promptID == id }), !jobs[index].state.isFinal else { return [] }
        var changes: [Change] = []
        let files = OutputFile.all(in: entry.outputs).filter { !jobs[index].files.contains($0) }
        if !files.isEmpty {
            jobs[index].files += files
            changes.append(.outputs(promptID: id, files))
        }
        let messages = entry.status?.messages ?? []
        jobs[index].startedAt = jobs[index].startedAt ?? messages.first { $0.event == "execution_start" }?.data["timestamp"]?.numberValue?.int64
        if let error = messages.first(where: { $0.event == "execution_error" })?.data {
            jobs[index].state = .failed(
                "node \(workflow.label(of: error["node_id"]?.stringValue ?? "?")): \(error["exception_message"]?.stringValue ?? "failed")")
            jobs[index].endedAt = error["timestamp"]?.numberValue?.int64
        } else if let interrupted = messages.first(where: { $0.event == "execution_interrupted" })?.data {
            jobs[index].state = .interrupted("node \(workflow.label(of: interrupted["node_id"]?.stringValue ?? "?"))")
            jobs[index].endedAt = interrupted["timestamp"]?.numberValue?.int64
        } else if entry.status?.statusStr == "error" {
            jobs[index].state = .failed("the server recorded an error")
        } else {
            jobs[index].state = .succeeded
            jobs[index].endedAt = messages.first { $0.event == "execution_success" }?.data["timestamp"]?.numberValue?.int64
            for bar in jobs[index].bars.indices { jobs[index].bars[bar].value = jobs[index].bars[bar].max }
        }
        changes.append(.finished(promptID: id))
        return changes
    }
}

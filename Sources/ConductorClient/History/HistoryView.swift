import ComfyWire

/// `conductor history` for people: a table of finished prompts, or everything about one.
public enum HistoryView {
    /// How a prompt ended, in one word: `success`, `failed`, `interrupted`.
    public static func outcome(_ entry: HistoryEntry) -> String {
        guard let status = entry.status else { return "unknown" }
        if status.statusStr == "success" { return "success" }
        if status.messages.contains(where: { $0.event == "execution_interrupted" }) { return "interrupted" }
        return status.statusStr == "error" ? "failed" : status.statusStr
    }

    /// The GPU node that ran the prompt, when Conductor's output subfolders say it.
    static func gpuNode(_ entry: HistoryEntry, fleet: [String]) -> String? {
        guard !fleet.isEmpty else { return nil }
        for file in OutputFile.all(in: entry.outputs) {
            if let first = file.subfolder.split(separator: "/").first.map(String.init), fleet.contains(first) { return first }
        }
        return nil
    }

    static func timestamp(_ entry: HistoryEntry, _ event: String) -> Int64? {
        entry.status?.messages.last { $0.event == event }?.data["timestamp"]?.numberValue?.int64
    }

    static func finish(_ entry: HistoryEntry) -> Int64? {
        ["execution_success", "execution_error", "execution_interrupted"].compactMap { timestamp(entry, $0) }.max()
    }

    static func duration(_ entry: HistoryEntry) -> String? {
        guard let start = timestamp(entry, "execution_start"), let end = finish(entry) else { return nil }
        return Durations.text(seconds: Double(end - start) / 1000)
    }

    /// The table of `conductor history`, oldest first so the newest is next to the prompt.
    public static func render(_ entries: [(id: String, entry: HistoryEntry)], fleet: [String], width: Int?) -> [String] {
        if entries.isEmpty { return ["No finished prompts in the history."] }
        var columns: [Table.Column] = [.init("PROMPT ID"), .init("STATUS")]
        if !fleet.isEmpty { columns.append(.init("NODE")) }
        columns += [.init("FINISHED"), .init("TIME", alignRight: true), .init("OUTPUTS", flexible: true)]
        var table = Table(columns)
        for (id, entry) in entries {
            let files = OutputFile.all(in: entry.outputs)
            var outputs = files.first?.filename ?? "-"
            if files.count > 1 { outputs += " +\(files.count - 1) more" }
            var row = [id, outcome(entry)]
            if !fleet.isEmpty { row.append(gpuNode(entry, fleet: fleet) ?? "-") }
            row += [finish(entry).map(Durations.timestamp) ?? "-", duration(entry) ?? "-", outputs]
            table.append(row)
        }
        return table.render(width: width) + ["\(entries.count) \(entries.count == 1 ? "prompt" : "prompts"); `conductor history ID` shows one."]
    }

    /// Everything about one prompt: outcome, times, where it ran, its error, and each output with its `/view` URL.
    public static func detail(id: String, entry: HistoryEntry, fleet: [String], server: ServerAddress) -> [String] {
        let workflow = try? Workflow(json: entry.prompt.prompt, source: "history")
        func label(_ node: String) -> String { workflow?.label(of: node) ?? node }
        var lines = ["Prompt \(id)", "  status:    \(outcome(entry))"]
        if let node = gpuNode(entry, fleet: fleet) { lines.append("  node:      \(node)") }
        if let client = entry.prompt.clientID { lines.append("  client id: \(client)") }
        if let created = entry.prompt.createTime { lines.append("  queued:    \(Durations.timestamp(milliseconds: created))") }
        if let start = timestamp(entry, "execution_start") { lines.append("  started:   \(Durations.timestamp(milliseconds: start))") }
        if let end = finish(entry) {
            lines.append("  finished:  \(Durations.timestamp(milliseconds: end))" + (duration(entry).map { " (\($0))" } ?? ""))
        }
        if let error = entry.status?.messages.last(where: { $0.event == "execution_error" })?.data {
            let node = error["node_id"]?.stringValue ?? "?"
            lines.append("  error:     node \(label(node)): \(error["exception_message"]?.stringValue ?? "failed")")
        }
        if let interrupted = entry.status?.messages.last(where: { $0.event == "execution_interrupted" })?.data,
            let node = interrupted["node_id"]?.stringValue
        {
            lines.append("  stopped:   at node \(label(node))")
        }
        let files = OutputFile.all(in: entry.outputs)
        if files.isEmpty {
            lines.append("  outputs:   none")
        } else {
            lines.append("  outputs:")
            for file in files {
                lines.append("    node \(label(file.nodeID)): \(file.path) [\(file.type)]")
                lines.append("      \(ComfyClient.viewURL(server: server, file: file))")
            }
        }
        return lines
    }
}

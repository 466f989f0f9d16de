/// The jobs API (`/api/jobs`, `/api/jobs/{id}`, comfyui-api.md §2.8) as a pure view over the
/// queue and the history, as ComfyUI v0.8.0 derives it (interrupted jobs show as "failed").
public struct JobsListing: Sendable {
    public var pending: [QueueItem]
    public var running: [QueueItem]
    public var history: [(String, HistoryEntry)]

    public init(pending: [QueueItem], running: [QueueItem], history: [(String, HistoryEntry)]) {
        self.pending = pending
        self.running = running
        self.history = history
    }

    struct Job {
        var object: JSONObject
        var createTime: Int64
        var duration: Int64
        var status: String
        var workflowID: String?
        var entry: HistoryEntry?
    }

    static func base(_ item: QueueItem, status: String) -> JSONObject {
        var job: JSONObject = ["id": .string(item.promptID), "status": .string(status), "priority": .number(item.number)]
        if let created = item.createTime { job["create_time"] = .number(JSONNumber(created)) }
        return job
    }

    func jobs() -> [Job] {
        var result: [Job] = []
        for (items, status) in [(pending, "pending"), (running, "in_progress")] {
            for item in items {
                var job = Self.base(item, status: status)
                job["outputs_count"] = 0
                if let workflowID = item.workflowID { job["workflow_id"] = .string(workflowID) }
                result.append(
                    Job(
                        object: job, createTime: item.createTime ?? 0, duration: 0, status: status,
                        workflowID: item.workflowID))
            }
        }
        for (_, entry) in history {
            let messages = entry.status?.messages ?? []
            let status = entry.status?.statusStr == "error" ? "failed" : "completed"
            var job = Self.base(entry.prompt, status: status)
            let start = messages.first { $0.event == "execution_start" }?.data["timestamp"]?.numberValue?.int64
            let end = messages.last { ["execution_success", "execution_error", "execution_interrupted"].contains($0.event) }?
                .data["timestamp"]?.numberValue?.int64
            if let start { job["execution_start_time"] = .number(JSONNumber(start)) }
            if let end { job["execution_end_time"] = .number(JSONNumber(end)) }
            if let error = messages.first(where: { $0.event == "execution_error" }) { job["execution_error"] = .object(error.data) }
            var count = 0
            var preview: JSONObject?
            for (nodeID, output) in entry.outputs {
                for (mediaType, items) in output.objectValue ?? [:] {
                    guard let items = items.arrayValue else { continue }
                    for item in items {
                        count += 1
                        if preview == nil, case .object(var file) = item, ["images", "video", "audio", "3d"].contains(mediaType) {
                            file["nodeId"] = .string(nodeID)
                            file["mediaType"] = .string(mediaType)
                            preview = file
                        }
                    }
                }
            }
            job["outputs_count"] = .int(count)
            if let preview { job["preview_output"] = .object(preview) }
            if let workflowID = entry.prompt.workflowID { job["workflow_id"] = .string(workflowID) }
            result.append(
                Job(
                    object: job, createTime: entry.prompt.createTime ?? 0,
                    duration: (end ?? 0) - (start ?? 0), status: status, workflowID: entry.prompt.workflowID,
                    entry: entry))
        }
        return result
    }

    /// `GET /api/jobs` with its query parameters: status and body.
    public func list(query: [String: String]) -> (status: Int, body: JSONValue) {
        var list = jobs()
        if let raw = query["status"] {
            let wanted = raw.split(separator: ",").map { String($0).trimmingSpaces }
            let valid = ["pending", "in_progress", "completed", "failed"]
            if let bad = wanted.first(where: { !valid.contains($0) }) {
                return (400, ["error": .string("Invalid status value: \(bad)")])
            }
            list = list.filter { wanted.contains($0.status) }
        }
        if let workflowID = query["workflow_id"] { list = list.filter { $0.workflowID == workflowID } }
        let sortBy = query["sort_by"] ?? "created_at"
        guard ["created_at", "execution_duration"].contains(sortBy) else {
            return (400, ["error": "sort_by must be 'created_at' or 'execution_duration'"])
        }
        let order = query["sort_order"] ?? "desc"
        guard ["asc", "desc"].contains(order) else { return (400, ["error": "sort_order must be 'asc' or 'desc'"]) }
        list.sort { sortBy == "created_at" ? $0.createTime < $1.createTime : $0.duration < $1.duration }
        if order == "desc" { list.reverse() }
        var limit: Int?
        if let raw = query["limit"] {
            guard let value = Int(raw), value > 0 else { return (400, ["error": "limit must be a positive integer"]) }
            limit = value
        }
        var offset = 0
        if let raw = query["offset"] {
            guard let value = Int(raw) else { return (400, ["error": "offset must be an integer"]) }
            offset = max(0, value)
        }
        let total = list.count
        let page = Array(list.dropFirst(offset).prefix(limit ?? Int.max))
        return (
            200,
            [
                "jobs": .array(page.map { .object($0.object) }),
                "pagination": [
                    "offset": .int(offset), "limit": limit.map(JSONValue.int) ?? .null, "total": .int(total),
                    "has_more": .bool(offset + page.count < total)
                ]
            ]
        )
    }

    /// `GET /api/jobs/{id}`; nil means 404 `{"error": "Job not found"}`.
    public func job(id: String) -> JSONValue? {
        guard let found = jobs().first(where: { $0.object["id"]?.stringValue == id }) else { return nil }
        var job = found.object
        if let entry = found.entry {
            job["outputs"] = .object(entry.outputs)
            if let status = entry.status { job["execution_status"] = status.json }
            job["workflow"] = ["prompt": entry.prompt.prompt, "extra_data": .object(entry.prompt.extraData)]
        }
        return .object(job)
    }
}

extension QueueItem {
    /// `extra_data.extra_pnginfo.workflow.id`, which the jobs API filters on.
    public var workflowID: String? { extraData["extra_pnginfo"]?["workflow"]?["id"]?.stringValue }
}

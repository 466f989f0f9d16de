import ComfyWire
import Foundation
import Hummingbird

extension SimulatedNode {
    static let modelFolders = [
        "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision", "style_models",
        "embeddings", "diffusers", "vae_approx", "controlnet", "gligen", "upscale_models", "latent_upscale_models",
        "custom_nodes", "hypernetworks", "photomaker", "classifiers", "model_patches", "audio_encoders",
    ]

    public func historyJSON(maxItems: Int?, offset: Int) -> JSONValue {
        .object(JSONObject(history.page(maxItems: maxItems, offset: offset).map { ($0.0, $0.1.json) }))
    }

    public func historyJSON(promptID: String) -> JSONValue {
        guard let entry = history[promptID] else { return [:] }
        return [promptID: entry.json]
    }

    public func editHistory(clear: Bool, delete: [String]) {
        if clear { history.removeAll() }
        for id in delete { history.remove(id) }
    }

    public func objectInfo(className: String?) -> JSONValue {
        let context = catalogContext()
        if let className {
            guard let nodeClass = catalog[className] else { return [:] }
            return [className: nodeClass.objectInfo(context: context)]
        }
        return .object(JSONObject(catalog.classes.sorted { $0.name < $1.name }.map { ($0.name, $0.objectInfo(context: context)) }))
    }

    public func models(folder: String) -> [String]? {
        switch folder {
        case "checkpoints": profile.checkpoints.map(\.name).sorted()
        case "loras": profile.loras.map(\.name).sorted()
        case "vae": profile.vaes.map(\.name).sorted()
        default: Self.modelFolders.contains(folder) ? [] : nil
        }
    }

    /// `/internal/files/{type}`: top-level files, newest first (v0.8.0 lists bare names).
    public func internalFiles(_ kind: String) -> [String] {
        guard let kind = FileReference.Kind(rawValue: kind) else { return [] }
        let folder = files.directory(kind)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let dated = names.filter { !$0.hasPrefix(".") }.compactMap { name -> (String, Date)? in
            let attributes = try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path)
            guard attributes?[.type] as? FileAttributeType == .typeRegular else { return nil }
            return (name, attributes?[.modificationDate] as? Date ?? .distantPast)
        }
        return dated.sorted { $0.1 > $1.1 }.map(\.0)
    }

    /// `/extensions`: the frontend's extension scripts under the web root, as ComfyUI lists them.
    public nonisolated func frontendExtensions() -> [String] {
        guard let webRoot = profile.webRoot else { return [] }
        let base = URL(fileURLWithPath: webRoot).appendingPathComponent("extensions")
        guard let walker = FileManager.default.enumerator(atPath: base.path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".js") }.sorted().map { "/extensions/" + $0 }
    }

    // MARK: Jobs API (§2.8, as v0.8.0: interrupted jobs are "failed")

    struct Job {
        var object: JSONObject
        var createTime: Int64
        var duration: Int64
        var status: String
        var workflowID: String?
    }

    func jobs() -> [Job] {
        var result: [Job] = []
        func base(_ item: QueueItem, status: String) -> JSONObject {
            var job: JSONObject = ["id": .string(item.promptID), "status": .string(status), "priority": .number(item.number)]
            if let created = item.createTime { job["create_time"] = .number(JSONNumber(created)) }
            return job
        }
        for item in pending.items {
            var job = base(item, status: "pending")
            job["outputs_count"] = 0
            result.append(Job(object: job, createTime: item.createTime ?? 0, duration: 0, status: "pending", workflowID: item.workflowID))
        }
        if let running {
            var job = base(running, status: "in_progress")
            job["outputs_count"] = 0
            result.append(Job(object: job, createTime: running.createTime ?? 0, duration: 0, status: "in_progress", workflowID: running.workflowID))
        }
        for id in history.order {
            guard let entry = history[id] else { continue }
            let messages = entry.status?.messages ?? []
            let status: String
            switch entry.status?.statusStr {
            case "error"?: status = "failed"
            default: status = "completed"
            }
            var job = base(entry.prompt, status: status)
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
            result.append(Job(object: job, createTime: entry.prompt.createTime ?? 0,
                              duration: (end ?? 0) - (start ?? 0), status: status, workflowID: entry.prompt.workflowID))
        }
        return result
    }

    func jobsJSON(query: Parameters) -> (status: Int, body: JSONValue) {
        var list = jobs()
        if let raw = query.get("status") {
            let wanted = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let valid = ["pending", "in_progress", "completed", "failed"]
            if let bad = wanted.first(where: { !valid.contains($0) }) {
                return (400, ["error": .string("Invalid status value: \(bad)")])
            }
            list = list.filter { wanted.contains($0.status) }
        }
        if let workflowID = query.get("workflow_id") { list = list.filter { $0.workflowID == workflowID } }
        let sortBy = query.get("sort_by") ?? "created_at"
        guard ["created_at", "execution_duration"].contains(sortBy) else {
            return (400, ["error": "sort_by must be 'created_at' or 'execution_duration'"])
        }
        let order = query.get("sort_order") ?? "desc"
        guard ["asc", "desc"].contains(order) else { return (400, ["error": "sort_order must be 'asc' or 'desc'"]) }
        list.sort { sortBy == "created_at" ? $0.createTime < $1.createTime : $0.duration < $1.duration }
        if order == "desc" { list.reverse() }
        var limit: Int?
        if let raw = query.get("limit") {
            guard let value = Int(raw), value > 0 else { return (400, ["error": "limit must be a positive integer"]) }
            limit = value
        }
        var offset = 0
        if let raw = query.get("offset") {
            guard let value = Int(raw) else { return (400, ["error": "offset must be an integer"]) }
            offset = max(0, value)
        }
        let total = list.count
        let page = Array(list.dropFirst(offset).prefix(limit ?? Int.max))
        return (200, [
            "jobs": .array(page.map { .object($0.object) }),
            "pagination": ["offset": .int(offset), "limit": limit.map(JSONValue.int) ?? .null, "total": .int(total),
                           "has_more": .bool(offset + page.count < total)],
        ])
    }

    func jobJSON(id: String) -> JSONValue? {
        guard var job = jobs().first(where: { $0.object["id"]?.stringValue == id })?.object else { return nil }
        if let entry = history[id] {
            job["outputs"] = .object(entry.outputs)
            if let status = entry.status { job["execution_status"] = status.json }
            job["workflow"] = ["prompt": entry.prompt.prompt, "extra_data": .object(entry.prompt.extraData)]
        }
        return .object(job)
    }
}

extension QueueItem {
    /// `extra_data.extra_pnginfo.workflow.id`, which the jobs API filters on.
    var workflowID: String? { extraData["extra_pnginfo"]?["workflow"]?["id"]?.stringValue }
}

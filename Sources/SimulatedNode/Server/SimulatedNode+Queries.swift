import ComfyWire
import Foundation
import Hummingbird

extension SimulatedNode {
    static let modelFolders = [
        "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision", "style_models",
        "embeddings", "diffusers", "vae_approx", "controlnet", "gligen", "upscale_models", "latent_upscale_models",
        "custom_nodes", "hypernetworks", "photomaker", "classifiers", "model_patches", "audio_encoders"
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

    /// The (simulated) directories a model folder is read from.
    nonisolated func modelDirectories(_ folder: String) -> JSONValue {
        [.string(files.root.appendingPathComponent("models/" + folder).path)]
    }

    /// `/internal/folder_paths`: every model folder with its directories.
    public nonisolated func folderPaths() -> JSONValue {
        .object(JSONObject(Self.modelFolders.map { ($0, modelDirectories($0)) }))
    }

    /// `/experiment/models`: each model folder with its directories, except `configs` and `custom_nodes`.
    public nonisolated func experimentModelFolders() -> JSONValue {
        .array(
            Self.modelFolders.filter { !["configs", "custom_nodes"].contains($0) }.map { folder in
                ["name": .string(folder), "folders": modelDirectories(folder)]
            })
    }

    /// `/experiment/models/{folder}`: the folder's files with sizes; nil for an unknown folder (404).
    public func experimentModels(folder: String) -> JSONValue? {
        let listed: [NodeProfile.ModelFile]
        switch folder {
        case "checkpoints": listed = profile.checkpoints
        case "loras": listed = profile.loras
        case "vae": listed = profile.vaes
        default:
            guard Self.modelFolders.contains(folder) else { return nil }
            listed = []
        }
        return .array(
            listed.sorted { $0.name < $1.name }.map { file in
                [
                    "name": .string(file.name), "pathIndex": 0, "modified": 1_700_000_000.0, "created": 1_700_000_000.0,
                    "size": .number(JSONNumber(file.sizeBytes))
                ]
            })
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

    // MARK: Jobs API

    func jobsListing() -> JobsListing {
        JobsListing(
            pending: pending.items, running: running.map { [$0] } ?? [],
            history: history.order.compactMap { id in history[id].map { (id, $0) } })
    }

    func jobsJSON(query: Parameters) -> (status: Int, body: JSONValue) {
        var parameters: [String: String] = [:]
        for (key, value) in query { parameters[String(key)] = String(value) }
        return jobsListing().list(query: parameters)
    }

    func jobJSON(id: String) -> JSONValue? { jobsListing().job(id: id) }
}

import ComfyWire
import Foundation

/// The `default` user's directory of a simulated node (ComfyUI's `user/default`): the frontend's
/// settings file and the workflows and other files it saves (comfyui-api.md §2.12).
///
/// An actor so that concurrent `POST /settings/{id}` calls, which each rewrite the whole file, do not lose updates.
public actor UserDirectory {
    public nonisolated let root: URL
    /// Names given to `POST /users` (a single-user node accepts them but keeps serving `default`).
    var userNames: Set<String> = []

    /// What a userdata write, move or lookup came to, as ComfyUI's status codes.
    public enum Failure: Error, Equatable {
        /// No file name (400).
        case missingName
        /// A path that leaves the user directory (403).
        case outsideUserDirectory
        /// 404.
        case notFound
        /// The destination exists and `overwrite=false` (409 "File already exists").
        case exists
    }

    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    // MARK: Users

    /// `POST /users`: the new user's id (`name_<uuid4>`), or nil for a duplicate name.
    public func addUser(_ name: String) -> String? {
        guard userNames.insert(name).inserted else { return nil }
        return name + "_" + UUID().uuidString.lowercased()
    }

    // MARK: Settings

    var settingsFile: URL { root.appendingPathComponent("comfy.settings.json") }

    /// `GET /settings`: the whole settings object (empty when nothing was saved yet).
    public func settings() -> JSONObject {
        guard let data = try? Data(contentsOf: settingsFile), let value = try? JSONValue(parsing: data),
            case .object(let object) = value
        else { return JSONObject() }
        return object
    }

    /// `POST /settings` and `POST /settings/{id}`: merges the values in and rewrites the file.
    public func updateSettings(_ values: JSONObject) throws {
        var merged = settings()
        for (key, value) in values { merged[key] = value }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Data(JSONValue.object(merged).serialized(.python)).write(to: settingsFile, options: .atomic)
    }

    // MARK: Files

    /// A path under the user directory, or nil when it would leave it (ComfyUI's `get_request_user_filepath`).
    public nonisolated func resolve(_ relative: String) -> URL? {
        guard !relative.contains("\0") else { return nil }
        let url = (relative.hasPrefix("/") ? URL(fileURLWithPath: relative) : root.appendingPathComponent(relative)).standardizedFileURL
        return url.path == root.path || url.path.hasPrefix(root.path + "/") ? url : nil
    }

    func relativePath(_ url: URL) -> String {
        String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
    }

    /// `{"path", "size", "modified", "created"}` with times in milliseconds.
    func fileInfo(_ url: URL) -> JSONValue {
        let attributes = (try? FileManager.default.attributesOfItem(atPath: url.path)) ?? [:]
        let modified = (attributes[.modificationDate] as? Date) ?? Date()
        let created = (attributes[.creationDate] as? Date) ?? modified
        return [
            "path": .string(relativePath(url)),
            "size": .int((attributes[.size] as? Int) ?? 0),
            "modified": .int(Int((modified.timeIntervalSince1970 * 1000).rounded())),
            "created": .int(Int((created.timeIntervalSince1970 * 1000).rounded()))
        ]
    }

    static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    static func isFile(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// `GET /userdata?dir=D`: the files in `D` (every level with `recurse`), as relative paths, split paths or file infos.
    public func list(directory: String, recurse: Bool, fullInfo: Bool, split: Bool) throws(Failure) -> JSONValue {
        guard let folder = resolve(directory) else { throw .outsideUserDirectory }
        guard Self.isDirectory(folder) else { throw .notFound }
        var found: [URL] = []
        if recurse {
            let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)
            while let url = walker?.nextObject() as? URL { found.append(url) }
        } else {
            found = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        }
        let files = found.map(\.standardizedFileURL).filter(Self.isFile).sorted { $0.path < $1.path }
        return .array(
            files.map { url in
                if fullInfo { return fileInfo(url) }
                let relative = String(url.path.dropFirst(folder.path.count + 1))
                if split { return .array(([relative] + relative.split(separator: "/").map(String.init)).map(JSONValue.string)) }
                return .string(relative)
            })
    }

    /// `GET /v2/userdata?path=P`: every directory and file under `P`, directories first at each level.
    public func listTree(path: String) throws(Failure) -> JSONValue {
        guard let folder = resolve(path) else { throw .missingName }
        guard Self.isDirectory(root) else { return [] }
        guard FileManager.default.fileExists(atPath: folder.path) else { throw .notFound }
        guard Self.isDirectory(folder) else { throw .missingName }
        var entries: [JSONValue] = []
        func walk(_ directory: URL) {
            let children = ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
                .map(\.standardizedFileURL).sorted { $0.lastPathComponent < $1.lastPathComponent }
            let directories = children.filter(Self.isDirectory)
            for child in directories {
                entries.append(["name": .string(child.lastPathComponent), "path": .string(relativePath(child)), "type": "directory"])
            }
            for child in children where Self.isFile(child) {
                let attributes = (try? FileManager.default.attributesOfItem(atPath: child.path)) ?? [:]
                entries.append([
                    "name": .string(child.lastPathComponent), "path": .string(relativePath(child)), "type": "file",
                    "size": .int((attributes[.size] as? Int) ?? 0),
                    "modified": .double(((attributes[.modificationDate] as? Date) ?? Date()).timeIntervalSince1970)
                ])
            }
            directories.forEach(walk)
        }
        walk(folder)
        return .array(entries)
    }

    /// The file a `{file}` route parameter names, which must exist when `existing`.
    public nonisolated func file(_ name: String, existing: Bool) throws(Failure) -> URL {
        guard !name.isEmpty else { throw .missingName }
        guard let url = resolve(name), url.path != root.path else { throw .outsideUserDirectory }
        if existing, !FileManager.default.fileExists(atPath: url.path) { throw .notFound }
        return url
    }

    /// `POST /userdata/{file}`: writes the body atomically; answers the relative path or the file info.
    public func write(_ name: String, contents: Data, overwrite: Bool, fullInfo: Bool) throws(Failure) -> JSONValue {
        let url = try file(name, existing: false)
        if !overwrite, FileManager.default.fileExists(atPath: url.path) { throw .exists }
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try contents.write(to: url, options: .atomic)
        } catch {
            throw .outsideUserDirectory
        }
        return fullInfo ? fileInfo(url) : .string(relativePath(url))
    }

    /// `DELETE /userdata/{file}`.
    public func delete(_ name: String) throws(Failure) {
        let url = try file(name, existing: true)
        do { try FileManager.default.removeItem(at: url) } catch { throw .notFound }
    }

    /// `POST /userdata/{file}/move/{dest}`.
    public func move(_ name: String, to destination: String, overwrite: Bool, fullInfo: Bool) throws(Failure) -> JSONValue {
        let source = try file(name, existing: true)
        let target = try file(destination, existing: false)
        if FileManager.default.fileExists(atPath: target.path) {
            guard overwrite else { throw .exists }
            try? FileManager.default.removeItem(at: target)
        }
        do {
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.moveItem(at: source, to: target)
        } catch {
            throw .notFound
        }
        return fullInfo ? fileInfo(target) : .string(relativePath(target))
    }
}

import AsyncHTTPClient
import ComfyWire
import ConductorCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Files follow the job: every string input of a prompt that names a file Conductor knows (an upload in its
/// store, or a file another node produced) is delivered to the node the prompt goes to, and that node's copy
/// of the prompt names the delivered copy.
extension Coordinator {
    /// Where the bytes a reference names live.
    enum FileSource: Hashable {
        /// An upload in Conductor's store.
        case stored(StoredFile)
        /// A file a node keeps (an output or temp file, named by clients under the node's subfolder).
        case onNode(node: String, kind: FileReference.Kind, subfolder: String, filename: String)

        /// What the scheduler calls these bytes: the hash when known, else where they are.
        var id: String {
            switch self {
            case .stored(let file): file.hash
            case .onNode(let node, let kind, let subfolder, let filename): "\(node):\(kind.rawValue)/\(subfolder)/\(filename)"
            }
        }
    }

    /// Size assumed for a node's file Conductor has not fetched yet (a typical PNG output).
    static let assumedNodeFileBytes: Int64 = 2 << 20

    /// The file a string input names, if Conductor can place it on any node; nil leaves the value to the node.
    func fileSource(_ value: String) -> FileSource? {
        guard value.utf8.count < 4096, !value.contains("\n") else { return nil }
        let reference = FileReference(parsing: value)
        guard UploadNaming.isPlainName(reference.filename) else { return nil }
        let kind = reference.kind(default: .input)
        if kind != .input, let (node, subfolder) = OutputNames.resolve(subfolder: reference.subfolder, nodes: nodeOrder) {
            return .onNode(node: node, kind: kind, subfolder: subfolder, filename: reference.filename)
        }
        return files.file(kind, subfolder: reference.subfolder, name: reference.filename).map(FileSource.stored)
    }

    /// Every distinct string of a prompt's inputs (nested objects and lists too, links aside) that names a file.
    func fileReferences(in prompt: JSONValue) -> [String: FileSource] {
        var found: [String: FileSource] = [:]
        func walk(_ value: JSONValue) {
            switch value {
            case .string(let text):
                if found[text] == nil, let source = fileSource(text) { found[text] = source }
            case .object(let object):
                for (_, inner) in object { walk(inner) }
            case .array(let items):
                if items.count == 2, case .string = items[0], case .number = items[1] { return }  // a link
                for item in items { walk(item) }
            default:
                return
            }
        }
        for (_, node) in prompt.objectValue ?? [:] {
            if let inputs = node["inputs"] { walk(inputs) }
        }
        return found
    }

    /// What a prompt needs of a node. A string that names a file Conductor delivers is a file need, not a choice
    /// the node's lists must offer: the node lists it once it has its copy (LoadLatent's list of its input folder).
    func requirements(of prompt: JSONValue, graph: PromptGraph) -> JobRequirements {
        var requirements = JobRequirements(prompt: graph)
        let references = fileReferences(in: prompt)
        requirements.files = fileNeeds(references)
        requirements.choices.removeAll { references[$0.value] != nil }
        return requirements
    }

    /// The files a prompt reads, for the scheduler's transfer cost.
    func fileNeeds(_ references: [String: FileSource]) -> [JobRequirements.FileNeed] {
        references.values.map { source in
            switch source {
            case .stored(let file): JobRequirements.FileNeed(id: file.hash, bytes: file.size)
            case .onNode: JobRequirements.FileNeed(id: source.id, bytes: Self.assumedNodeFileBytes)
            }
        }.sorted { $0.id < $1.id }
    }

    /// Which nodes hold each of the ids the queued jobs need.
    func fileHolders(for ids: Set<String>) -> [String: Set<String>] {
        guard !ids.isEmpty else { return [:] }
        let copies = files.holders()
        var holders: [String: Set<String>] = [:]
        for id in ids {
            if let held = copies[id] { holders[id] = held }
            if let colon = id.firstIndex(of: ":"), nodes[String(id[..<colon])] != nil {
                holders[id, default: []].insert(String(id[..<colon]))
            }
        }
        return holders
    }

    /// Whether a LoadImage-like input names a file some node could read: one in Conductor's store, another
    /// node's output, or a file a node has of its own (in its upload combo list).
    func fileExistsSomewhere(_ value: String) -> Bool {
        if fileSource(value) != nil { return true }
        return nodes.values.contains { $0.localFiles.contains(value) }
    }

    /// Whether a node's file is a copy Conductor delivered (`conductor-<16 hex>.ext`, any subfolder): such
    /// copies are Conductor's business, not files of the node to offer clients.
    static func isDeliveredCopy(_ value: String) -> Bool {
        let name = FileReference(parsing: value).filename
        guard name.hasPrefix("conductor-") else { return false }
        let hex = name.dropFirst("conductor-".count).prefix { $0 != "." }
        return hex.count == 16 && hex.allSatisfy(\.isHexDigit)
    }

    /// Hashes of the files unfinished jobs read: retention never evicts these.
    func referencedHashes() -> Set<String> {
        var hashes = Set<String>()
        for active in jobs.values {
            for need in active.requirements.files { hashes.insert(need.id) }
        }
        return hashes
    }

    /// Applies the store's retention (age, then size), keeping what unfinished jobs read.
    public func enforceStoreRetention() async {
        do {
            let deleted = try await files.evict(
                maxBytes: config.files.storeMaxBytes, maxAge: config.files.storeMaxAgeSeconds,
                keep: referencedHashes())
            if !deleted.isEmpty { logger.info("evicted files from the store", metadata: ["files.count": "\(deleted.count)"]) }
        } catch {
            logger.error("store retention failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Delivery

    enum DeliveryError: Error {
        /// The node could not be reached or refused the copy: try again later, maybe elsewhere.
        case node(String)
        /// The bytes are gone (the producing node lost them): the job cannot run as the client meant.
        case missing(String)
    }

    /// The prompt as `node` must receive it: each file reference rewritten to the node's copy, delivering
    /// what the node lacks first.
    func prompt(_ prompt: JSONValue, deliveredTo node: NodeState) async throws(DeliveryError) -> JSONValue {
        let references = fileReferences(in: prompt)
        guard !references.isEmpty else { return prompt }
        var rewritten: [String: String] = [:]
        for (value, source) in references.sorted(by: { $0.key < $1.key }) {
            rewritten[value] = try await deliver(source, as: FileReference(parsing: value), to: node)
        }
        return Self.replacingStrings(in: prompt, rewritten)
    }

    /// The value `node` must see for one reference.
    func deliver(_ source: FileSource, as reference: FileReference, to node: NodeState) async throws(DeliveryError) -> String {
        let annotation: FileReference.Kind? = reference.annotation == nil ? nil : .input
        switch source {
        case .onNode(let producer, let kind, let subfolder, let filename) where producer == node.config.name:
            // The node's own file: it only needs its own name back.
            return FileReference(subfolder: subfolder, filename: filename, annotation: reference.annotation ?? kind).stringValue
        case .onNode(let producer, let kind, let subfolder, let filename):
            let cached = files.file(kind, subfolder: "\(producer)/\(subfolder)".trimmingSuffix("/"), name: filename)
            let blob: Blob
            if let cached, files.hasBlob(cached.hash) {
                blob = Blob(hash: cached.hash, size: cached.size)
            } else {
                blob = try await fetch(kind: kind, subfolder: subfolder, filename: filename, from: producer)
            }
            let copy = try await copy(blob, named: filename, subfolder: "", to: node)
            return FileReference(subfolder: copy.subfolder, filename: copy.name, annotation: .input).stringValue
        case .stored(let file):
            let copy = try await copy(Blob(hash: file.hash, size: file.size), named: file.name, subfolder: file.subfolder, to: node)
            return FileReference(subfolder: copy.subfolder, filename: copy.name, annotation: annotation).stringValue
        }
    }

    /// Pulls a node's file into the store, under the name clients see it by, so the next node needing it
    /// gets it from Conductor even if its producer went away.
    func fetch(kind: FileReference.Kind, subfolder: String, filename: String, from producer: String) async throws(DeliveryError) -> Blob {
        guard let client = nodes[producer]?.client else { throw .missing("node \(producer) is not in the fleet") }
        do {
            let blob = try await download(kind: kind, subfolder: subfolder, filename: filename, from: client)
            let clientFolder = subfolder.isEmpty ? producer : "\(producer)/\(subfolder)"
            _ = try await files.claim(blob, filename: filename, subfolder: clientFolder, kind: kind, overwrite: true)
            bytesMoved += blob.size
            return blob
        } catch let error as DeliveryError {
            throw error
        } catch {
            throw .node("could not fetch \(filename) from \(producer): \(error)")
        }
    }

    /// The node's copy of a blob, uploading it when the node has none (by hash, whatever its name).
    func copy(_ blob: Blob, named name: String, subfolder: String, to node: NodeState) async throws(DeliveryError) -> NodeCopy {
        let nodeName = node.config.name
        if let existing = files.copy(of: blob.hash, on: nodeName) {
            await files.touch(copies: [blob.hash], on: nodeName)
            return existing
        }
        let ext = (name as NSString).pathExtension
        // Named by content, so a different file under the client's name on the node is never overwritten,
        // and the same bytes never land twice.
        let copyName = "conductor-\(blob.hash.prefix(16))" + (ext.isEmpty ? "" : ".\(ext)")
        let folder = UploadNaming.normalizedSubfolder(subfolder) ?? ""
        let answer: NodeClient.Response
        do {
            answer = try await node.client.upload(
                fileAt: files.blobURL(blob.hash), size: blob.size, filename: copyName,
                fields: [("type", "input"), ("subfolder", folder), ("overwrite", "true")])
        } catch {
            throw .node("could not send \(name) to \(nodeName): \(error)")
        }
        guard answer.status == 200, let stored = answer.json, let storedName = stored["name"]?.stringValue else {
            throw .node("\(nodeName) answered \(answer.status) to an upload of \(name)")
        }
        let copy = NodeCopy(
            node: nodeName, hash: blob.hash, subfolder: stored["subfolder"]?.stringValue ?? folder,
            name: storedName, size: blob.size)
        do { try await files.record(copy) } catch { throw .node("could not record a copy: \(error)") }
        bytesMoved += blob.size
        logger.debug("delivered a file", metadata: ["node.name": "\(nodeName)", "file.hash": "\(blob.hash)", "file.bytes": "\(blob.size)"])
        return copy
    }

    /// A node refused a prompt naming a copy Conductor believed it held (its input directory was wiped or the
    /// file deleted): forgets the job's copies on that node so the next dispatch sends them again. Once per job,
    /// so a prompt that is wrong for other reasons still gets its error.
    func forgetLostCopies(of job: Job, on node: NodeState, rejection: [UInt8]) async -> Bool {
        guard let active = jobs[job.id], active.lostCopyRetries == 0 else { return false }
        let text = String(decoding: rejection, as: UTF8.self)
        let held = active.requirements.files.compactMap { files.copy(of: $0.id, on: node.config.name) }
        let lost = held.filter { text.contains($0.name) }
        guard !lost.isEmpty else { return false }
        for copy in held { try? await files.forget(copy) }
        return true
    }

    /// Keeps the copies on a node within `files.nodeMaxBytes`: ComfyUI has no route to delete an input file,
    /// so the least recently used copies no unfinished job reads are overwritten with one byte and forgotten.
    func trimCopies(on node: NodeState) async {
        let keep = referencedHashes()
        guard let excess = try? await files.excessCopies(on: node.config.name, maxBytes: config.files.nodeMaxBytes, keep: keep),
            !excess.isEmpty
        else { return }
        let placeholder = FileManager.default.temporaryDirectory.appendingPathComponent("conductor-placeholder-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: placeholder.path, contents: Data([0])) else { return }
        defer { try? FileManager.default.removeItem(at: placeholder) }
        for copy in excess {
            let answer = try? await node.client.upload(
                fileAt: placeholder, size: 1, filename: copy.name,
                fields: [("type", "input"), ("subfolder", copy.subfolder), ("overwrite", "true")])
            guard answer?.status == 200 else { continue }
            try? await files.forget(copy)
        }
        logger.info("emptied old copies on a node", metadata: ["node.name": "\(node.config.name)", "files.count": "\(excess.count)"])
    }

    /// The prompt with each string found in `map` replaced, in the nodes' inputs only.
    static func replacingStrings(in prompt: JSONValue, _ map: [String: String]) -> JSONValue {
        func replace(_ value: JSONValue) -> JSONValue {
            switch value {
            case .string(let text): return map[text].map(JSONValue.string) ?? value
            case .object(var object):
                for (key, inner) in object { object[key] = replace(inner) }
                return .object(object)
            case .array(let items):
                if items.count == 2, case .string = items[0], case .number = items[1] { return value }
                return .array(items.map(replace))
            default: return value
            }
        }
        guard case .object(var nodes) = prompt else { return prompt }
        for (id, node) in nodes {
            guard case .object(var object) = node, let inputs = object["inputs"] else { continue }
            object["inputs"] = replace(inputs)
            nodes[id] = .object(object)
        }
        return .object(nodes)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}

// MARK: Masks and listings

extension Coordinator {
    enum MaskResult {
        case composed(Blob)
        /// ComfyUI answers 200 and writes nothing when the original does not exist.
        case originalMissing
        case failed(String)
    }

    /// `/upload/mask`: the original image with the mask's alpha, composed by a node (ComfyUI's own code, so every
    /// format and PNG text chunk is handled as a single server would), then kept in Conductor's store.
    func composeMask(_ mask: Blob, originalRef: JSONValue) async -> MaskResult {
        let original = FileReference(parsing: originalRef["filename"]?.stringValue ?? "")
        guard UploadNaming.isPlainName(original.filename) else { return .originalMissing }
        let kind = original.annotation ?? FileReference.Kind(rawValue: originalRef["type"]?.stringValue ?? "output") ?? .output
        let subfolder = [originalRef["subfolder"]?.stringValue ?? "", original.subfolder].filter { !$0.isEmpty }.joined(separator: "/")
        let source: FileSource
        if kind != .input, let (node, inner) = OutputNames.resolve(subfolder: subfolder, nodes: nodeOrder) {
            source = .onNode(node: node, kind: kind, subfolder: inner, filename: original.filename)
        } else if let stored = files.file(kind, subfolder: subfolder, name: original.filename) {
            source = .stored(stored)
        } else {
            return .originalMissing
        }
        let up = nodeOrder.filter { fleet.nodes[$0]?.health == .up }.compactMap { nodes[$0] }
        let preferred: NodeState? =
            switch source {
            case .onNode(let node, _, _, _): up.first { $0.config.name == node }
            case .stored(let file): up.first { files.copy(of: file.hash, on: $0.config.name) != nil }
            }
        guard let node = preferred ?? up.first else { return .failed("no ComfyUI node is up to compose the mask") }
        do {
            let onNode = FileReference(
                parsing: try await deliver(
                    source, as: FileReference(subfolder: subfolder, filename: original.filename, annotation: kind), to: node))
            let reference: JSONValue = [
                "filename": .string(onNode.filename), "subfolder": .string(onNode.subfolder),
                "type": .string(onNode.kind(default: .input).rawValue)
            ]
            let answer = try await node.client.upload(
                fileAt: files.blobURL(mask.hash), size: mask.size, filename: "conductor-mask-\(UUID().uuidString.lowercased()).png",
                fields: [
                    ("type", "input"), ("subfolder", "conductor-masks"), ("overwrite", "true"),
                    ("original_ref", reference.jsonString(.compact))
                ], path: "/upload/mask")
            guard answer.status == 200, let json = answer.json, let name = json["name"]?.stringValue else {
                return .failed("\(node.config.name) answered \(answer.status) to the mask")
            }
            let folder = json["subfolder"]?.stringValue ?? "conductor-masks"
            let blob = try await download(kind: .input, subfolder: folder, filename: name, from: node.client)
            try? await files.record(NodeCopy(node: node.config.name, hash: blob.hash, subfolder: folder, name: name, size: blob.size))
            return .composed(blob)
        } catch DeliveryError.missing {
            // The original is not where the reference says (or the node wrote nothing for it): as ComfyUI does.
            return .originalMissing
        } catch {
            return .failed("could not compose the mask on \(node.config.name): \(error)")
        }
    }

    /// A node's file streamed into the store as a blob (not named).
    func download(kind: FileReference.Kind, subfolder: String, filename: String, from client: NodeClient) async throws -> Blob {
        let path =
            "/view?"
            + [("filename", filename), ("subfolder", subfolder), ("type", kind.rawValue)]
            .map { "\(FleetProxy.encode($0.0))=\(FleetProxy.encode($0.1))" }.joined(separator: "&")
        let writer = try files.makeWriter()
        do {
            let response = try await client.stream(.GET, path, timeout: 600)
            guard response.status == .ok else {
                if response.status == .notFound {
                    throw DeliveryError.missing("\(client.name) has no \(kind.rawValue) file \(subfolder)/\(filename)")
                }
                throw DeliveryError.node("\(client.name) answered \(response.status.code) for \(filename)")
            }
            for try await chunk in response.body { try writer.write(chunk) }
            return try files.adopt(writer)
        } catch {
            writer.abort()
            throw error
        }
    }

    /// The fleet's object_info with each upload combo (LoadImage's image list…) listing what a client can load: the
    /// store's top-level inputs of the widget's media type and the nodes' own files, without delivered copies; and
    /// each input-folder combo (LoadLatent's list…) the same, with the store's uploads of the extensions it shows.
    func presentingUploads(_ info: JSONObject) -> JSONObject {
        var info = info
        let folderCombos = fleetInputFolderCombos()
        for (className, classInfo) in info {
            guard case .object(var object) = classInfo, case .object(var input)? = object["input"] else { continue }
            for group in ["required", "optional"] {
                guard case .object(var declared)? = input[group] else { continue }
                for (name, config) in declared {
                    let stored: [String]
                    if case .array(let parts) = config, parts.count >= 2, case .object(let options) = parts[1],
                        let category = Self.uploadCategory(options)
                    {
                        stored = files.inputNames { MediaType.of(filename: $0).hasPrefix(category + "/") }
                    } else if let extensions = folderCombos[className]?[name] {
                        stored = storedInputs(withExtensionIn: extensions)
                    } else {
                        continue
                    }
                    declared[name] = Self.listing(config, adding: stored, hidingCopies: true)
                }
                input[group] = .object(declared)
            }
            object["input"] = .object(input)
            info[className] = .object(object)
        }
        return info
    }

    /// The media type an upload widget lists (`image_upload` → image…); nil for other combos and for lists of
    /// another root (`image_folder`, e.g. LoadImageOutput's outputs).
    static func uploadCategory(_ options: JSONObject) -> String? {
        if options["image_folder"] != nil { return nil }
        for (flag, category) in [("image_upload", "image"), ("video_upload", "video"), ("audio_upload", "audio")]
        where options[flag]?.isTruthy == true {
            return category
        }
        return nil
    }
}

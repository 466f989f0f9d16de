import ComfyWire
import ConductorCore
import Crypto
import Foundation
import Logging

/// Lists of a node's input folder without an upload widget (LoadLatent's `.latent` files, custom video or batch
/// loaders): Conductor's uploads are valid there too, delivered like LoadImage's.
///
/// The rule: a combo is an input-folder list on a node when the node's list shows a file Conductor put in its input
/// folder (a delivered copy, or a probe), and it takes the extensions it was seen to show. To know before any
/// delivery, Conductor places a one-line probe `conductor-<16 hex>.<ext>` (the name a delivered copy of those bytes
/// would have, so clients never see it) for each extension its top-level uploads use, in each node's input folder
/// when the node comes up and when an upload brings a new extension, then reads the node's `/object_info`. Every other
/// combo is validated as before.
extension Coordinator {
    /// What a probe holds.
    static let probeBytes = Data("conductor: which lists show input files of this extension\n".utf8)
    /// A probe's name without its extension.
    static let probeStem = "conductor-" + SHA256.hash(data: probeBytes).prefix(8).map { String(format: "%02x", $0) }.joined()
    /// Most extensions probed: a store of odd names does not become thousands of uploads per node.
    static let maxProbedExtensions = 64

    /// Class → input → extensions, for the node's combos (upload widgets aside) that list a top-level file Conductor
    /// put in its input folder.
    static func inputFolderCombos(_ classes: [String: NodeClass]) -> [String: [String: Set<String>]] {
        var found: [String: [String: Set<String>]] = [:]
        for (className, nodeClass) in classes {
            for input in nodeClass.required + nodeClass.optional where !nodeClass.customValidated.contains(input.name) {
                guard case .combo(.fixed(let values), _) = input.kind else { continue }
                let extensions = Set(values.filter { !$0.contains("/") && isDeliveredCopy($0) }.map(fileExtension))
                if !extensions.isEmpty { found[className, default: [:]][input.name] = extensions }
            }
        }
        return found
    }

    static func fileExtension(_ name: String) -> String { (name as NSString).pathExtension }

    /// The extensions of the store's top-level uploads that a probe can carry (letters, digits, `_`, `-`; ≤ 16).
    func uploadExtensions() -> Set<String> {
        var found = Set<String>()
        for ext in files.inputExtensions().sorted() {
            guard (1...16).contains(ext.utf8.count),
                ext.unicodeScalars.allSatisfy({
                    $0.isASCII
                        && ($0.properties.isAlphabetic
                            || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
                })
            else { continue }
            found.insert(ext)
            if found.count == Self.maxProbedExtensions { break }
        }
        return found
    }

    /// The fleet's input-folder combos: class → input → extensions any node's list was seen to show.
    func fleetInputFolderCombos() -> [String: [String: Set<String>]] {
        var merged: [String: [String: Set<String>]] = [:]
        for node in nodes.values {
            for (className, inputs) in node.inputFolderCombos {
                for (input, extensions) in inputs { merged[className, default: [:]][input, default: []].formUnion(extensions) }
            }
        }
        return merged
    }

    /// Starts probing a node that is up and lacks a probe for an extension of the store's (its lists changed, it came
    /// up), unless it is being probed.
    func probeIfNeeded(_ name: String) {
        guard let node = nodes[name], fleet.nodes[name]?.health == .up, probing[name] == nil,
            !uploadExtensions().isSubset(of: node.probedExtensions)
        else { return }
        Task { await self.probeInputFolder(of: name) }
    }

    /// Probes every node that is up for the extensions it lacks (after an upload; when a node comes up).
    func probeInputFolders() async {
        await probeInputFolders(of: nodeOrder)
    }

    func probeInputFolders(of names: [String]) async {
        await withTaskGroup(of: Void.self) { group in
            for name in names { group.addTask { await self.probeInputFolder(of: name) } }
        }
    }

    /// Whether some node that is up was not yet probed for an extension of the store's uploads.
    func probesPending() -> Bool {
        let extensions = uploadExtensions()
        return nodes.contains { fleet.nodes[$0.key]?.health == .up && !extensions.isSubset(of: $0.value.probedExtensions) }
    }

    /// Waits (at most `seconds`) until every node that is up has been probed for the store's extensions, so a submit
    /// right after an upload of a new kind is judged by what the nodes' lists say of it.
    /// A node whose probing has run longer than `seconds` (it hangs on the upload) is not waited for again.
    func awaitProbes(seconds: Double = 10) async {
        let extensions = uploadExtensions()
        let now = ContinuousClock.now
        var wait = Duration.seconds(seconds)
        let lacking = nodeOrder.filter { name in
            guard let node = nodes[name], fleet.nodes[name]?.health == .up, !extensions.isSubset(of: node.probedExtensions) else { return false }
            guard let since = probing[name]?.since else { return true }
            wait = min(wait, .seconds(seconds) - (now - since))
            return now - since < .seconds(seconds)
        }
        guard !lacking.isEmpty, wait > .zero else { return }
        // The probes run on their own: waiting for them ends at the deadline (a stream's wait can be cancelled, a
        // task's value cannot).
        let (done, finished) = AsyncStream<Void>.makeStream()
        Task {
            await self.probeInputFolders(of: lacking)
            finished.finish()
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in done {} }
            group.addTask { [wait] in try? await Task.sleep(for: wait) }
            await group.next()
            group.cancelAll()
        }
    }

    /// One node's probing; callers share the run in flight, and look again after it (an upload may have brought an
    /// extension while it ran).
    func probeInputFolder(of name: String) async {
        for _ in 0..<3 {
            if let running = probing[name] {
                await running.task.value
                continue
            }
            guard let node = nodes[name], fleet.nodes[name]?.health == .up else { return }
            let missing = uploadExtensions().subtracting(node.probedExtensions)
            guard !missing.isEmpty else { return }
            let run = Task { await self.placeProbes(missing, on: name) }
            probing[name] = (run, .now)
            await run.value
            probing[name] = nil
        }
    }

    /// Uploads a probe per extension into the node's input folder, then reads its `/object_info`: the lists that
    /// show a probe are input-folder lists taking that extension.
    func placeProbes(_ extensions: Set<String>, on name: String) async {
        guard let client = nodes[name]?.client else { return }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("conductor-probe-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: file.path, contents: Self.probeBytes) else { return }
        defer { try? FileManager.default.removeItem(at: file) }
        // Tried once per extension while the node stays up, placed or not: a node that refuses files fails their
        // deliveries too, and no submit waits on it again.
        defer { nodes[name]?.probedExtensions.formUnion(extensions) }
        var placed = Set<String>()
        for ext in extensions.sorted() {
            let answer = try? await client.upload(
                fileAt: file, size: Int64(Self.probeBytes.count), filename: "\(Self.probeStem).\(ext)",
                fields: [("type", "input"), ("subfolder", ""), ("overwrite", "true")], timeout: 30)
            if answer?.status == 200 { placed.insert(ext) }
        }
        guard !placed.isEmpty, let answer = try? await client.get("/object_info", timeout: 60), answer.status == 200,
            let info = try? JSONValue(parsing: answer.body), nodes[name] != nil
        else {
            logger.warning("could not probe a node's input-folder lists", metadata: ["node.name": "\(name)", "extensions": "\(extensions.sorted())"])
            return
        }
        await applyObjectInfo(info, to: name)
        logger.debug(
            "probed a node's input-folder lists",
            metadata: [
                "node.name": "\(name)", "extensions": "\(placed.sorted())",
                "lists": "\(nodes[name]?.inputFolderCombos.flatMap { c in c.value.keys.map { "\(c.key).\($0)" } }.sorted() ?? [])"
            ])
    }

    /// A combo declaration (`[[values…], {…}]` or V3's `["COMBO", {"options": […]}]`) with `stored` added to its
    /// values; `hidingCopies` drops Conductor's own files (delivered copies, probes), which clients never name.
    static func listing(_ config: JSONValue, adding stored: [String], hidingCopies: Bool) -> JSONValue {
        guard case .array(var parts) = config, !parts.isEmpty else { return config }
        func merged(_ values: [JSONValue]) -> JSONValue {
            var names = Set(stored)
            for value in values {
                if let text = value.stringValue, !(hidingCopies && isDeliveredCopy(text)) { names.insert(text) }
            }
            return .array(names.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }.map(JSONValue.string))
        }
        if case .array(let values) = parts[0] {
            parts[0] = merged(values)
        } else if parts.count >= 2, case .object(var options) = parts[1], case .array(let values)? = options["options"] {
            options["options"] = merged(values)
            parts[1] = .object(options)
        }
        return .array(parts)
    }

    /// Top-level uploads whose extension is one of `extensions`.
    func storedInputs(withExtensionIn extensions: Set<String>) -> [String] {
        files.inputNames { extensions.contains(Self.fileExtension($0)) }
    }

    /// The merged `/object_info` with the store's uploads added to each input-folder combo and Conductor's own files
    /// left out, as clients see the lists, for validation.
    func addingStoredInputs(_ info: JSONObject) -> JSONObject {
        var info = info
        for (className, inputs) in fleetInputFolderCombos() {
            guard case .object(var object)? = info[className], case .object(var declared)? = object["input"] else { continue }
            for group in ["required", "optional"] {
                guard case .object(var entries)? = declared[group] else { continue }
                for (input, extensions) in inputs {
                    guard let config = entries[input] else { continue }
                    entries[input] = Self.listing(config, adding: storedInputs(withExtensionIn: extensions), hidingCopies: true)
                }
                declared[group] = .object(entries)
            }
            object["input"] = .object(declared)
            info[className] = .object(object)
        }
        return info
    }
}

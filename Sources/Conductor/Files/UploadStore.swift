import ComfyWire
import Crypto
import Foundation
import NIOCore
import Synchronization

/// A file a client can name: an upload, under the `(type, subfolder, name)` ComfyUI gave it.
public struct StoredFile: Sendable, Hashable {
    public var kind: FileReference.Kind
    public var subfolder: String
    public var name: String
    /// sha256 of the bytes, hex.
    public var hash: String
    public var size: Int64
}

/// Bytes in the store, by content.
public struct Blob: Sendable, Hashable {
    public var hash: String
    public var size: Int64
    public init(hash: String, size: Int64) {
        self.hash = hash
        self.size = size
    }
}

/// A copy of a blob Conductor delivered to a node, and the node's name for it (input root).
public struct NodeCopy: Sendable, Hashable {
    public var node: String
    public var hash: String
    public var subfolder: String
    public var name: String
    public var size: Int64
    public init(node: String, hash: String, subfolder: String, name: String, size: Int64) {
        self.node = node
        self.hash = hash
        self.subfolder = subfolder
        self.name = name
        self.size = size
    }
}

/// Conductor's file store, one namespace for the whole fleet as if it were one ComfyUI server: blobs
/// under the data directory named by their sha256, an index of client-visible names in SQLite, and the
/// books of which node holds a copy of which blob.
///
/// Names follow ComfyUI's upload rules (same bytes → same name, other bytes → `name (n).ext`).
/// Blobs are written to `.incoming/` and renamed into place, so no reader ever sees half a file, and
/// the index row is committed only after its blob is in place.
public final class UploadStore: Sendable {
    struct Key: Hashable {
        var kind: FileReference.Kind
        var subfolder: String
        var name: String
    }

    /// The database that keeps the names and the books of copies (`JobStore+Files`).
    let store: any JobStore
    public let directory: URL
    /// The index rows in memory, so a prompt is checked against the store without a query.
    private let index: Mutex<[Key: StoredFile]>
    private let copies: Mutex<[String: [String: NodeCopy]]>

    public init(store: any JobStore, directory: URL) async throws {
        self.store = store
        self.directory = directory.standardizedFileURL
        let incoming = self.directory.appendingPathComponent(".incoming", isDirectory: true)
        // Whatever is in .incoming was cut off by a crash: never part of the store.
        try? FileManager.default.removeItem(at: incoming)
        try FileManager.default.createDirectory(at: incoming, withIntermediateDirectories: true)
        let (files, nodeCopies) = try await store.filesAndCopies()
        var byKey: [Key: StoredFile] = [:]
        for file in files { byKey[Key(kind: file.kind, subfolder: file.subfolder, name: file.name)] = file }
        index = Mutex(byKey)
        var byNode: [String: [String: NodeCopy]] = [:]
        for copy in nodeCopies { byNode[copy.node, default: [:]][copy.hash] = copy }
        copies = Mutex(byNode)
    }

    // MARK: Blobs

    public func blobURL(_ hash: String) -> URL {
        directory.appendingPathComponent(String(hash.prefix(2)), isDirectory: true).appendingPathComponent(hash)
    }

    public func hasBlob(_ hash: String) -> Bool { FileManager.default.fileExists(atPath: blobURL(hash).path) }

    /// Starts writing a new blob; `finish` moves it into the store.
    public func makeWriter() throws -> BlobWriter {
        try BlobWriter(temporary: directory.appendingPathComponent(".incoming/\(UUID().uuidString)"))
    }

    /// Moves a finished blob into place (or drops it if the same bytes are already there).
    public func adopt(_ writer: BlobWriter) throws -> Blob {
        let blob = try writer.finish()
        let target = blobURL(blob.hash)
        if FileManager.default.fileExists(atPath: target.path) {
            try? FileManager.default.removeItem(at: writer.temporary)
        } else {
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard rename(writer.temporary.path, target.path) == 0 else {
                try? FileManager.default.removeItem(at: writer.temporary)
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target.path])
            }
        }
        return blob
    }

    /// Deletes a blob no name refers to (a mask's input, an upload refused after it was written).
    public func dropIfUnnamed(_ hash: String) {
        let named = index.withLock { $0.values.contains { $0.hash == hash } }
        let copied = copies.withLock { $0.values.contains { $0[hash] != nil } }
        if !named && !copied { try? FileManager.default.removeItem(at: blobURL(hash)) }
    }

    // MARK: Names

    /// The stored file a client names; the subfolder is normalized as ComfyUI does.
    public func file(_ kind: FileReference.Kind, subfolder: String, name: String) -> StoredFile? {
        guard let folder = UploadNaming.normalizedSubfolder(subfolder) else { return nil }
        return index.withLock { $0[Key(kind: kind, subfolder: folder, name: name)] }
    }

    /// Gives a blob a client-visible name with ComfyUI's upload rules and returns the name: the same bytes
    /// under `filename` (or an earlier `filename (n)`) reuse it, other bytes take the next free `(n)`,
    /// `overwrite` replaces. `subfolder` must be normalized.
    public func claim(_ blob: Blob, filename: String, subfolder: String, kind: FileReference.Kind, overwrite: Bool) async throws -> String {
        let file = try await store.claimName(blob, filename: filename, subfolder: subfolder, kind: kind, overwrite: overwrite)
        index.withLock { $0[Key(kind: file.kind, subfolder: file.subfolder, name: file.name)] = file }
        return file.name
    }

    /// Top-level files of the input root whose name passes `filter`, in Python's sort order (code points).
    public func inputNames(where filter: (String) -> Bool) -> [String] {
        let names = index.withLock { index in
            index.values.filter { $0.kind == .input && $0.subfolder.isEmpty }.map(\.name)
        }
        return names.filter(filter).sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    /// The extensions of the input root's top-level files.
    public func inputExtensions() -> Set<String> {
        index.withLock { index in
            Set(index.values.lazy.filter { $0.kind == .input && $0.subfolder.isEmpty }.map { ($0.name as NSString).pathExtension })
        }
    }

    /// Marks blobs as used now, for retention.
    public func touch(_ hashes: Set<String>) async {
        guard !hashes.isEmpty else { return }
        try? await store.touchFiles(hashes)
    }

    /// Retention of the store: drops names unused for `maxAge` seconds, then the least recently used until
    /// the blobs fit in `maxBytes`, never one whose blob is in `keep`; deletes blobs no name refers to.
    /// Returns the hashes of the blobs deleted.
    @discardableResult
    public func evict(maxBytes: Int64, maxAge: Double, keep: Set<String>) async throws -> [String] {
        let (removed, deleted) = try await store.evictFiles(maxBytes: maxBytes, maxAge: maxAge, keep: keep)
        let removedRows = removed.map { Key(kind: $0.kind, subfolder: $0.subfolder, name: $0.name) }
        index.withLock { index in for key in removedRows { index[key] = nil } }
        for hash in deleted { try? FileManager.default.removeItem(at: blobURL(hash)) }
        return deleted
    }

    // MARK: Copies on nodes

    public func copy(of hash: String, on node: String) -> NodeCopy? {
        copies.withLock { $0[node]?[hash] }
    }

    /// The nodes holding a copy of each blob.
    public func holders() -> [String: Set<String>] {
        copies.withLock { copies in
            var holders: [String: Set<String>] = [:]
            for (node, held) in copies { for hash in held.keys { holders[hash, default: []].insert(node) } }
            return holders
        }
    }

    public func record(_ copy: NodeCopy) async throws {
        try await store.recordCopy(copy)
        copies.withLock { $0[copy.node, default: [:]][copy.hash] = copy }
    }

    public func touch(copies hashes: Set<String>, on node: String) async {
        guard !hashes.isEmpty else { return }
        try? await store.touchCopies(hashes, on: node)
    }

    /// The copies on a node beyond `maxBytes`, least recently used first, skipping `keep`.
    public func excessCopies(on node: String, maxBytes: Int64, keep: Set<String>) async throws -> [NodeCopy] {
        try await store.excessCopies(on: node, maxBytes: maxBytes, keep: keep)
    }

    public func forget(_ copy: NodeCopy) async throws {
        try await store.forgetCopy(copy)
        copies.withLock { _ = $0[copy.node]?.removeValue(forKey: copy.hash) }
    }

    /// Forgets every copy on a node (it left the fleet): if it comes back, files are delivered again.
    public func forgetCopies(on node: String) async throws {
        try await store.forgetCopies(on: node)
        copies.withLock { _ = $0.removeValue(forKey: node) }
    }

}

/// Writes one blob to a temporary file while hashing it; `UploadStore.adopt` moves it into the store.
public final class BlobWriter {
    let temporary: URL
    private let handle: FileHandle
    private var hasher = SHA256()
    public private(set) var size: Int64 = 0
    private var closed = false

    init(temporary: URL) throws {
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        self.temporary = temporary
        handle = try FileHandle(forWritingTo: temporary)
    }

    public func write(_ buffer: ByteBuffer) throws {
        buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        try handle.write(contentsOf: buffer.readableBytesView)
        size += Int64(buffer.readableBytes)
    }

    func finish() throws -> Blob {
        try handle.synchronize()
        try handle.close()
        closed = true
        return Blob(hash: hasher.finalize().map { String(format: "%02x", $0) }.joined(), size: size)
    }

    /// Drops the partial file: nothing of an aborted upload stays on disk.
    public func abort() {
        if !closed { try? handle.close() }
        closed = true
        try? FileManager.default.removeItem(at: temporary)
    }
}

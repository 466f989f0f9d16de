import ComfyWire
import Crypto
import Foundation
import GRDB
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
}

/// A copy of a blob Conductor delivered to a node, and the node's name for it (input root).
public struct NodeCopy: Sendable, Hashable {
    public var node: String
    public var hash: String
    public var subfolder: String
    public var name: String
    public var size: Int64
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

    let database: DatabasePool
    public let directory: URL
    /// The index rows in memory, so a prompt is checked against the store without a query.
    private let index: Mutex<[Key: StoredFile]>
    private let copies: Mutex<[String: [String: NodeCopy]]>

    public init(store: JobStore, directory: URL) throws {
        database = store.database
        self.directory = directory.standardizedFileURL
        let incoming = self.directory.appendingPathComponent(".incoming", isDirectory: true)
        // Whatever is in .incoming was cut off by a crash: never part of the store.
        try? FileManager.default.removeItem(at: incoming)
        try FileManager.default.createDirectory(at: incoming, withIntermediateDirectories: true)
        let (files, nodeCopies) = try database.read { db in
            let files = try Row.fetchAll(db, sql: "SELECT * FROM file").compactMap(Self.storedFile)
            let copies = try Row.fetchAll(db, sql: "SELECT * FROM node_file").map(Self.nodeCopy)
            return (files, copies)
        }
        var byKey: [Key: StoredFile] = [:]
        for file in files { byKey[Key(kind: file.kind, subfolder: file.subfolder, name: file.name)] = file }
        index = Mutex(byKey)
        var byNode: [String: [String: NodeCopy]] = [:]
        for copy in nodeCopies { byNode[copy.node, default: [:]][copy.hash] = copy }
        copies = Mutex(byNode)
    }

    static func storedFile(_ row: Row) -> StoredFile? {
        guard let kind = FileReference.Kind(rawValue: row["kind"]) else { return nil }
        return StoredFile(kind: kind, subfolder: row["subfolder"], name: row["name"], hash: row["hash"], size: row["size"])
    }

    static func nodeCopy(_ row: Row) -> NodeCopy {
        NodeCopy(node: row["node"], hash: row["hash"], subfolder: row["subfolder"], name: row["name"], size: row["size"])
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
        let now = epochMilliseconds()
        let file = try await database.write { db -> StoredFile in
            var n = 0
            while true {
                let name = UploadNaming.candidate(filename, n)
                let existing = try String.fetchOne(
                    db, sql: "SELECT hash FROM file WHERE kind = ? AND subfolder = ? AND name = ?",
                    arguments: [kind.rawValue, subfolder, name])
                if existing == nil || existing == blob.hash || overwrite {
                    try db.execute(
                        sql: """
                            INSERT INTO file (kind, subfolder, name, hash, size, created_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                            ON CONFLICT (kind, subfolder, name) DO UPDATE SET hash = excluded.hash, size = excluded.size, used_at = excluded.used_at
                            """,
                        arguments: [kind.rawValue, subfolder, name, blob.hash, blob.size, now, now])
                    return StoredFile(kind: kind, subfolder: subfolder, name: name, hash: blob.hash, size: blob.size)
                }
                n += 1
            }
        }
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
        let now = epochMilliseconds()
        try? await database.write { db in
            for hash in hashes { try db.execute(sql: "UPDATE file SET used_at = ? WHERE hash = ?", arguments: [now, hash]) }
        }
    }

    /// Retention of the store: drops names unused for `maxAge` seconds, then the least recently used until
    /// the blobs fit in `maxBytes`, never one whose blob is in `keep`; deletes blobs no name refers to.
    /// Returns the hashes of the blobs deleted.
    @discardableResult
    public func evict(maxBytes: Int64, maxAge: Double, keep: Set<String>) async throws -> [String] {
        let cutoff = epochMilliseconds() - Int64(maxAge * 1000)
        let (removedRows, deleted) = try await database.write { db -> ([Key], [String]) in
            var removed: [Key] = []
            // Least recently used blob first; a blob's age is its newest name's.
            let rows = try Row.fetchAll(db, sql: """
                SELECT hash, MAX(size) AS size, MAX(used_at) AS used FROM file GROUP BY hash ORDER BY used
                """)
            var total = rows.reduce(Int64(0)) { $0 + ($1["size"] as Int64) }
            var victims: [String] = []
            for row in rows {
                let hash: String = row["hash"]
                guard !keep.contains(hash) else { continue }
                let used: Int64 = row["used"]
                guard used < cutoff || total > maxBytes else { break }
                victims.append(hash)
                total -= row["size"] as Int64
            }
            for hash in victims {
                for row in try Row.fetchAll(db, sql: "SELECT kind, subfolder, name FROM file WHERE hash = ?", arguments: [hash]) {
                    if let kind = FileReference.Kind(rawValue: row["kind"]) {
                        removed.append(Key(kind: kind, subfolder: row["subfolder"], name: row["name"]))
                    }
                }
                try db.execute(sql: "DELETE FROM file WHERE hash = ?", arguments: [hash])
            }
            return (removed, victims)
        }
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
        let now = epochMilliseconds()
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO node_file (node, hash, subfolder, name, size, used_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (node, hash) DO UPDATE SET subfolder = excluded.subfolder, name = excluded.name, used_at = excluded.used_at
                    """,
                arguments: [copy.node, copy.hash, copy.subfolder, copy.name, copy.size, now])
        }
        copies.withLock { $0[copy.node, default: [:]][copy.hash] = copy }
    }

    public func touch(copies hashes: Set<String>, on node: String) async {
        guard !hashes.isEmpty else { return }
        let now = epochMilliseconds()
        try? await database.write { db in
            for hash in hashes {
                try db.execute(sql: "UPDATE node_file SET used_at = ? WHERE node = ? AND hash = ?", arguments: [now, node, hash])
            }
        }
    }

    /// The copies on a node beyond `maxBytes`, least recently used first, skipping `keep`.
    public func excessCopies(on node: String, maxBytes: Int64, keep: Set<String>) async throws -> [NodeCopy] {
        try await database.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM node_file WHERE node = ? ORDER BY used_at", arguments: [node])
            var total = rows.reduce(Int64(0)) { $0 + ($1["size"] as Int64) }
            var excess: [NodeCopy] = []
            for row in rows where total > maxBytes {
                let copy = Self.nodeCopy(row)
                guard !keep.contains(copy.hash) else { continue }
                excess.append(copy)
                total -= copy.size
            }
            return excess
        }
    }

    public func forget(_ copy: NodeCopy) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM node_file WHERE node = ? AND hash = ?", arguments: [copy.node, copy.hash])
        }
        copies.withLock { _ = $0[copy.node]?.removeValue(forKey: copy.hash) }
    }

    /// Forgets every copy on a node (it left the fleet): if it comes back, files are delivered again.
    public func forgetCopies(on node: String) async throws {
        try await database.write { db in try db.execute(sql: "DELETE FROM node_file WHERE node = ?", arguments: [node]) }
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

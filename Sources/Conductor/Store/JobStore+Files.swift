import ComfyWire
import Foundation
import GRDB

/// The file store's tables: client-visible names of blobs (`file`) and the books of copies on nodes (`node_file`).
/// `UploadStore` keeps the blobs and an index of these rows in memory; the rows are this database's.
extension JobStore {
    /// Every name and every copy, to load the file store's index.
    func filesAndCopies() throws -> (files: [StoredFile], copies: [NodeCopy]) {
        try database.read { db in
            (
                try Row.fetchAll(db, sql: "SELECT * FROM file").compactMap(Self.storedFile),
                try Row.fetchAll(db, sql: "SELECT * FROM node_file").map(Self.nodeCopy)
            )
        }
    }

    static func storedFile(_ row: Row) -> StoredFile? {
        guard let kind = FileReference.Kind(rawValue: row["kind"]) else { return nil }
        return StoredFile(kind: kind, subfolder: row["subfolder"], name: row["name"], hash: row["hash"], size: row["size"])
    }

    static func nodeCopy(_ row: Row) -> NodeCopy {
        NodeCopy(node: row["node"], hash: row["hash"], subfolder: row["subfolder"], name: row["name"], size: row["size"])
    }

    /// Gives a blob a name with ComfyUI's upload rules (see `UploadStore.claim`), in one transaction.
    func claimName(_ blob: Blob, filename: String, subfolder: String, kind: FileReference.Kind, overwrite: Bool) async throws -> StoredFile {
        let now = epochMilliseconds()
        return try await database.write { db -> StoredFile in
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
    }

    /// Marks blobs as used now, for retention.
    func touchFiles(_ hashes: Set<String>) async throws {
        let now = epochMilliseconds()
        try await database.write { db in
            for hash in hashes { try db.execute(sql: "UPDATE file SET used_at = ? WHERE hash = ?", arguments: [now, hash]) }
        }
    }

    /// Drops the names of blobs unused for `maxAge` seconds, then of the least recently used until the blobs fit in
    /// `maxBytes`, never of a blob in `keep`. Returns the names dropped and the blobs no name refers to any more.
    func evictFiles(maxBytes: Int64, maxAge: Double, keep: Set<String>) async throws -> (names: [StoredFile], blobs: [String]) {
        let cutoff = epochMilliseconds() - Int64(maxAge * 1000)
        return try await database.write { db in
            var removed: [StoredFile] = []
            // Least recently used blob first; a blob's age is its newest name's.
            let rows = try Row.fetchAll(
                db,
                sql: """
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
                removed += try Row.fetchAll(db, sql: "SELECT * FROM file WHERE hash = ?", arguments: [hash]).compactMap(Self.storedFile)
                try db.execute(sql: "DELETE FROM file WHERE hash = ?", arguments: [hash])
            }
            return (removed, victims)
        }
    }

    func recordCopy(_ copy: NodeCopy) async throws {
        let now = epochMilliseconds()
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO node_file (node, hash, subfolder, name, size, used_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (node, hash) DO UPDATE SET subfolder = excluded.subfolder, name = excluded.name, used_at = excluded.used_at
                    """,
                arguments: [copy.node, copy.hash, copy.subfolder, copy.name, copy.size, now])
        }
    }

    func touchCopies(_ hashes: Set<String>, on node: String) async throws {
        let now = epochMilliseconds()
        try await database.write { db in
            for hash in hashes {
                try db.execute(sql: "UPDATE node_file SET used_at = ? WHERE node = ? AND hash = ?", arguments: [now, node, hash])
            }
        }
    }

    /// The copies on a node beyond `maxBytes`, least recently used first, skipping `keep`.
    func excessCopies(on node: String, maxBytes: Int64, keep: Set<String>) async throws -> [NodeCopy] {
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

    func forgetCopy(_ copy: NodeCopy) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM node_file WHERE node = ? AND hash = ?", arguments: [copy.node, copy.hash])
        }
    }

    /// Forgets every copy on a node (it left the fleet).
    func forgetCopies(on node: String) async throws {
        try await database.write { db in try db.execute(sql: "DELETE FROM node_file WHERE node = ?", arguments: [node]) }
    }
}

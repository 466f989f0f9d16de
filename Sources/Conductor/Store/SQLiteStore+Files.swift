import ComfyWire
import Foundation
import GRDB

/// The file store's tables: client-visible names of blobs (`file`) and the books of copies on nodes (`node_file`).
/// `UploadStore` keeps the blobs and an index of these rows in memory; the rows are this database's.
extension SQLiteStore {
    public func filesAndCopies() async throws -> (files: [StoredFile], copies: [NodeCopy]) {
        try await database.read { db in
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

    public func claimName(_ blob: Blob, filename: String, subfolder: String, kind: FileReference.Kind, overwrite: Bool) async throws -> StoredFile {
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

    public func touchFiles(_ hashes: Set<String>) async throws {
        let now = epochMilliseconds()
        try await database.write { db in
            for hash in hashes { try db.execute(sql: "UPDATE file SET used_at = ? WHERE hash = ?", arguments: [now, hash]) }
        }
    }

    public func evictFiles(maxBytes: Int64, maxAge: Double, keep: Set<String>) async throws -> (names: [StoredFile], blobs: [String]) {
        let cutoff = epochMilliseconds() - Int64(maxAge * 1000)
        return try await database.write { db in
            var removed: [StoredFile] = []
            // Least recently used blob first; a blob's age is its newest name's.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT hash, MAX(size) AS size, MAX(used_at) AS used FROM file GROUP BY hash ORDER BY used
                    """)
            let victims = FileRetention.victims(
                rows.map { (hash: $0["hash"], size: $0["size"], used: $0["used"]) }, cutoff: cutoff, maxBytes: maxBytes, keep: keep)
            for hash in victims {
                removed += try Row.fetchAll(db, sql: "SELECT * FROM file WHERE hash = ?", arguments: [hash]).compactMap(Self.storedFile)
                try db.execute(sql: "DELETE FROM file WHERE hash = ?", arguments: [hash])
            }
            return (removed, victims)
        }
    }

    public func recordCopy(_ copy: NodeCopy) async throws {
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

    public func touchCopies(_ hashes: Set<String>, on node: String) async throws {
        let now = epochMilliseconds()
        try await database.write { db in
            for hash in hashes {
                try db.execute(sql: "UPDATE node_file SET used_at = ? WHERE node = ? AND hash = ?", arguments: [now, node, hash])
            }
        }
    }

    public func excessCopies(on node: String, maxBytes: Int64, keep: Set<String>) async throws -> [NodeCopy] {
        try await database.read { db in
            let copies = try Row.fetchAll(db, sql: "SELECT * FROM node_file WHERE node = ? ORDER BY used_at", arguments: [node])
                .map(Self.nodeCopy)
            return FileRetention.excess(copies, maxBytes: maxBytes, keep: keep)
        }
    }

    public func forgetCopy(_ copy: NodeCopy) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM node_file WHERE node = ? AND hash = ?", arguments: [copy.node, copy.hash])
        }
    }

    public func forgetCopies(on node: String) async throws {
        try await database.write { db in try db.execute(sql: "DELETE FROM node_file WHERE node = ?", arguments: [node]) }
    }
}

/// Which blobs and copies retention lets go, from the rows either store reads.
enum FileRetention {
    /// Blobs (least recently used first) to forget: those unused since `cutoff`, then the oldest until the rest fit in
    /// `maxBytes`; never one in `keep`.
    static func victims(_ blobs: [(hash: String, size: Int64, used: Int64)], cutoff: Int64, maxBytes: Int64, keep: Set<String>) -> [String] {
        var total = blobs.reduce(Int64(0)) { $0 + $1.size }
        var victims: [String] = []
        for blob in blobs {
            guard !keep.contains(blob.hash) else { continue }
            guard blob.used < cutoff || total > maxBytes else { break }
            victims.append(blob.hash)
            total -= blob.size
        }
        return victims
    }

    /// Copies (least recently used first) beyond `maxBytes`, skipping `keep`.
    static func excess(_ copies: [NodeCopy], maxBytes: Int64, keep: Set<String>) -> [NodeCopy] {
        var total = copies.reduce(Int64(0)) { $0 + $1.size }
        var excess: [NodeCopy] = []
        for copy in copies where total > maxBytes {
            guard !keep.contains(copy.hash) else { continue }
            excess.append(copy)
            total -= copy.size
        }
        return excess
    }
}

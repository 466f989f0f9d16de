import ComfyWire
import Foundation
import GRDB

extension SQLiteStore {
    static func finishedJob(_ row: Row) throws -> FinishedJob {
        FinishedJob(
            id: row["id"], node: row["node"], placement: row["placement"], completedAt: row["completed_at"],
            entry: try HistoryEntry(json: JSONValue(parsing: (row["entry"] as String))))
    }

    public func recentlyFinished(limit: Int) async throws -> [FinishedJob] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, node, placement, completed_at, entry FROM history ORDER BY sequence DESC LIMIT ?",
                arguments: [limit]
            ).map(Self.finishedJob)
        }
    }

    public func finishedJob(id: String) async throws -> FinishedJob? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT id, node, placement, completed_at, entry FROM history WHERE id = ?", arguments: [id])
                .map(Self.finishedJob)
        }
    }

    public func finished(since completedAt: Int64) async throws -> [FinishedJob] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM (SELECT id, node, placement, completed_at, entry, sequence FROM history ORDER BY sequence DESC LIMIT ?)
                    WHERE completed_at >= ? ORDER BY sequence
                    """,
                arguments: [StoredJSON.recentRowsScanned, completedAt]
            ).map(Self.finishedJob)
        }
    }
}

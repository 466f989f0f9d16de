import ComfyWire
import Foundation
import GRDB

/// A job in history with what operators ask of it besides its ComfyUI entry.
public struct FinishedJob: Sendable {
    public var id: String
    public var node: String?
    /// Why the scheduler put it where it ran (JSON of `Placement`); nil for jobs finished before it was kept.
    public var placement: String?
    public var completedAt: Int64
    public var entry: HistoryEntry
}

extension JobStore {
    static func finishedJob(_ row: Row) throws -> FinishedJob {
        FinishedJob(
            id: row["id"], node: row["node"], placement: row["placement"], completedAt: row["completed_at"],
            entry: try HistoryEntry(json: JSONValue(parsing: (row["entry"] as String))))
    }

    /// The newest finished jobs, newest first.
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
}

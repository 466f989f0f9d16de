import ComfyWire
import ConductorCore
import Foundation
import GRDB

/// The durable queue and the merged history, in SQLite (WAL, synchronous=FULL: a job is on disk
/// before the client hears 200). The store of one coordinator: the default.
public final class SQLiteStore: JobStore {
    let database: DatabasePool
    public let inserts: GroupCommit

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        database = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
        inserts = GroupCommit()
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE job (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        number TEXT NOT NULL,
                        number_value REAL NOT NULL,
                        client_id TEXT,
                        prompt TEXT NOT NULL,
                        extra_data TEXT NOT NULL,
                        outputs TEXT NOT NULL,
                        state TEXT NOT NULL,
                        node TEXT,
                        placement TEXT,
                        created_at INTEGER NOT NULL
                    );
                    CREATE INDEX job_order ON job(number_value, sequence);
                    CREATE TABLE history (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        node TEXT,
                        entry TEXT NOT NULL,
                        completed_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2-meta") { db in
            try db.execute(sql: "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        }
        migrator.registerMigration("v3-files") { db in
            // Client-visible names of uploads (one namespace for the fleet) and the copies delivered to nodes.
            try db.execute(
                sql: """
                    CREATE TABLE file (
                        kind TEXT NOT NULL,
                        subfolder TEXT NOT NULL,
                        name TEXT NOT NULL,
                        hash TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        used_at INTEGER NOT NULL,
                        PRIMARY KEY (kind, subfolder, name)
                    );
                    CREATE INDEX file_hash ON file(hash);
                    CREATE TABLE node_file (
                        node TEXT NOT NULL,
                        hash TEXT NOT NULL,
                        subfolder TEXT NOT NULL,
                        name TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        used_at INTEGER NOT NULL,
                        PRIMARY KEY (node, hash)
                    );
                    """)
        }
        migrator.registerMigration("v4-history-placement") { db in
            // A finished job keeps the scheduler's explanation of where it ran, for operators.
            try db.execute(sql: "ALTER TABLE history ADD COLUMN placement TEXT")
        }
        migrator.registerMigration("v5-fleet") { db in
            // An operator's changes to the fleet, over cluster.json: a node added or removed at run time, a drain.
            // A row with a config replaces (or adds) the node of that name; `removed` hides it.
            try db.execute(
                sql: """
                    CREATE TABLE fleet_node (
                        name TEXT PRIMARY KEY,
                        config TEXT,
                        removed INTEGER NOT NULL DEFAULT 0,
                        draining INTEGER NOT NULL DEFAULT 0,
                        changed_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v6-principal") { db in
            // The API key's name a job was submitted with, so a restart keeps its per-client limit and fair share.
            try db.execute(sql: "ALTER TABLE job ADD COLUMN principal TEXT")
        }
        return migrator
    }

    public func vramNeeds() async throws -> [String: Int64] {
        try await database.read { db in
            try StoredJSON.vramNeeds(try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'vram_needs'"))
        }
    }

    public func setVRAMNeeds(_ needs: [String: Int64]) async throws {
        try await database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('vram_needs', ?)", arguments: [StoredJSON.vramNeedsText(needs)])
        }
    }

    public func instanceID() async throws -> String {
        try await database.write { db in
            if let existing = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'instance'") { return existing }
            let made = StoredJSON.newInstanceID()
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('instance', ?)", arguments: [made])
            return made
        }
    }

    static func job(_ row: Row) throws -> Job {
        try StoredJSON.job(
            id: row["id"], sequence: row["sequence"], number: row["number"], clientID: row["client_id"],
            principal: row["principal"], prompt: row["prompt"], extraData: row["extra_data"], outputs: row["outputs"],
            state: row["state"], node: row["node"], placement: row["placement"], createdAt: row["created_at"])
    }

    public func insertAll(_ batch: [NewJob]) async -> [Result<ConductorCore.Job, any Error>] {
        do {
            return try await database.write { db in
                batch.map { new in
                    Result {
                        let columns = StoredJSON.columns(new)
                        try db.inSavepoint {
                            try db.execute(
                                sql: """
                                    INSERT INTO job (id, number, number_value, client_id, principal, prompt, extra_data, outputs, state, created_at)
                                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)
                                    """,
                                arguments: [
                                    new.id, columns.number, columns.value, new.clientID, new.principal, columns.prompt,
                                    columns.extra, columns.outputs, new.createdAt
                                ])
                            return .commit
                        }
                        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [new.id]) else {
                            throw DatabaseError(message: "job vanished after insert")
                        }
                        return try Self.job(row)
                    }
                }
            }
        } catch {
            return batch.map { _ in .failure(error) }
        }
    }

    public func contains(id: String) async throws -> Bool {
        try await database.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS(SELECT 1 FROM job WHERE id = ?) OR EXISTS(SELECT 1 FROM history WHERE id = ?)",
                arguments: [id, id]) ?? false
        }
    }

    public func activeJobs() async throws -> [ConductorCore.Job] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM job ORDER BY number_value, sequence").map(Self.job)
        }
    }

    public func job(id: String) async throws -> ConductorCore.Job? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [id]).map(Self.job)
        }
    }

    public func update(id: String, state: ConductorCore.Job.State, node: String?, placement: String?) async throws {
        try await database.write { db in
            if let placement {
                try db.execute(
                    sql: "UPDATE job SET state = ?, node = ?, placement = ? WHERE id = ?",
                    arguments: [state.rawValue, node, placement, id])
            } else {
                try db.execute(sql: "UPDATE job SET state = ?, node = ? WHERE id = ?", arguments: [state.rawValue, node, id])
            }
        }
    }

    public func deleteQueued(ids: [String]) async throws -> [String] {
        try await database.write { db in
            var removed: [String] = []
            for id in ids {
                try db.execute(sql: "DELETE FROM job WHERE id = ? AND state = 'queued'", arguments: [id])
                if db.changesCount > 0 { removed.append(id) }
            }
            return removed
        }
    }

    public func deleteJob(id: String) async throws {
        try await database.write { db in try db.execute(sql: "DELETE FROM job WHERE id = ?", arguments: [id]) }
    }

    public func complete(id: String, node: String?, entry: HistoryEntry, completedAt: Int64) async throws {
        try await database.write { db in
            let placement = try String.fetchOne(db, sql: "SELECT placement FROM job WHERE id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM job WHERE id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM history WHERE id = ?", arguments: [id])
            try db.execute(
                sql: "INSERT INTO history (id, node, entry, completed_at, placement) VALUES (?, ?, ?, ?, ?)",
                arguments: [id, node, entry.json.jsonString(.python), completedAt, placement])
        }
    }

    public func historyEntryText(id: String) async throws -> String? {
        try await database.read { db in try String.fetchOne(db, sql: "SELECT entry FROM history WHERE id = ?", arguments: [id]) }
    }

    public func historyNode(id: String) async throws -> String? {
        try await database.read { db in try String.fetchOne(db, sql: "SELECT node FROM history WHERE id = ?", arguments: [id]) }
    }

    public func historyRows(maxItems: Int?, offset: Int) async throws -> [(String, String)] {
        try await database.read { db in
            let rows: [Row]
            if offset < 0, let maxItems {
                // The newest `maxItems`, oldest first (ComfyUI's default page): read backwards from the end, so the
                // cost does not grow with the size of history.
                rows = try Row.fetchAll(db, sql: "SELECT id, entry FROM history ORDER BY sequence DESC LIMIT ?", arguments: [maxItems])
                    .reversed()
            } else {
                rows = try Row.fetchAll(
                    db, sql: "SELECT id, entry FROM history ORDER BY sequence LIMIT ? OFFSET ?",
                    arguments: [maxItems ?? -1, max(0, offset)])
            }
            return rows.map { row in (row["id"], row["entry"]) }
        }
    }

    public func appendHistory(_ entries: [(id: String, node: String?, entry: HistoryEntry, completedAt: Int64)]) async throws {
        try await database.write { db in
            let statement = try db.makeStatement(sql: "INSERT OR REPLACE INTO history (id, node, entry, completed_at) VALUES (?, ?, ?, ?)")
            for row in entries {
                try statement.execute(arguments: [row.id, row.node, row.entry.json.jsonString(.python), row.completedAt])
            }
        }
    }

    public func deleteHistory(ids: [String]) async throws {
        try await database.write { db in
            for id in ids { try db.execute(sql: "DELETE FROM history WHERE id = ?", arguments: [id]) }
        }
    }

    public func clearHistory() async throws {
        try await database.write { db in try db.execute(sql: "DELETE FROM history") }
    }

    /// SQLite's FULL, or an I/O error writing: it may succeed later.
    public func temporaryFailure(_ error: any Error) -> (type: String, message: String)? {
        guard let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL || error.resultCode == .SQLITE_IOERR else {
            return nil
        }
        return ("storage_full", "its data directory is full")
    }

    public func probeWrite() async throws {
        try await database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('write_probe', ?)", arguments: ["\(epochMilliseconds())"])
        }
    }

    public func lastSequence() async throws -> Int64 {
        try await database.read { db in
            let a = try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM job") ?? 0
            let b = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'job'") ?? 0
            return max(a, b)
        }
    }
}

import ComfyWire
import ConductorCore
import Foundation
import GRDB

/// The job of ConductorCore, not the concurrency runtime's.
typealias Job = ConductorCore.Job

/// Milliseconds since the Unix epoch, as ComfyUI's timestamps count them.
func epochMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

/// The durable queue and the merged history, in SQLite (WAL, synchronous=FULL: a job is on disk
/// before the client hears 200).
public final class JobStore: Sendable {
    let database: DatabasePool
    /// New jobs wait here for the next commit, which takes all that arrived meanwhile.
    let inserts: GroupCommit

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

    /// VRAM (bytes) each checkpoint was seen to need (see `Coordinator.retryOutOfMemory`), kept across restarts.
    public func vramNeeds() async throws -> [String: Int64] {
        try await database.read { db in
            guard let text = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'vram_needs'"),
                case .object(let object) = try JSONValue(parsing: text)
            else { return [:] }
            var needs: [String: Int64] = [:]
            for (checkpoint, bytes) in object { if let bytes = bytes.numberValue?.int64 { needs[checkpoint] = bytes } }
            return needs
        }
    }

    public func setVRAMNeeds(_ needs: [String: Int64]) async throws {
        let object = JSONObject(needs.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.number(JSONNumber($0.value))) })
        try await database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('vram_needs', ?)",
                arguments: [JSONValue.object(object).jsonString(.compact)])
        }
    }

    /// A stable id for this Conductor installation, made on first start: Conductor's client ids on
    /// the nodes derive from it, so after a restart the nodes' events for jobs in flight reach it again.
    public func instanceID() async throws -> String {
        try await database.write { db in
            if let existing = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'instance'") { return existing }
            let made = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('instance', ?)", arguments: [String(made)])
            return String(made)
        }
    }

    static func job(_ row: Row) throws -> Job {
        Job(
            id: row["id"], sequence: row["sequence"], number: JSONNumber(literal: row["number"]), clientID: row["client_id"],
            principal: row["principal"],
            prompt: try JSONValue(parsing: (row["prompt"] as String)),
            extraData: try JSONValue(parsing: (row["extra_data"] as String)).objectValue ?? [:],
            outputsToExecute: try JSONValue(parsing: (row["outputs"] as String)).arrayValue?.compactMap(\.stringValue) ?? [],
            state: Job.State(rawValue: row["state"]) ?? .queued, node: row["node"], placement: row["placement"],
            createdAt: row["created_at"])
    }

    /// Commits a new job; returns it with its sequence number.
    public func insert(
        id: String, number: JSONNumber, clientID: String?, principal: String? = nil, prompt: JSONValue,
        extraData: JSONObject, outputs: [String], createdAt: Int64
    ) async throws -> ConductorCore.Job {
        try await inserts.insert(
            NewJob(
                id: id, number: number, clientID: clientID, principal: principal, prompt: prompt,
                extraData: extraData, outputs: outputs, createdAt: createdAt), into: self)
    }

    /// Inserts jobs in one transaction (one fsync for all), each in its own savepoint so one that fails (a duplicate
    /// id) fails alone.
    func insertAll(_ batch: [NewJob]) async -> [Result<Job, any Error>] {
        do {
            return try await database.write { db in
                batch.map { new in
                    Result {
                        try db.inSavepoint {
                            try db.execute(
                                sql: """
                                    INSERT INTO job (id, number, number_value, client_id, principal, prompt, extra_data, outputs, state, created_at)
                                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)
                                    """,
                                arguments: [
                                    new.id, new.number.literal, new.number.double ?? 0, new.clientID, new.principal,
                                    new.prompt.jsonString(.compact),
                                    JSONValue.object(new.extraData).jsonString(.compact),
                                    JSONValue.array(new.outputs.map(JSONValue.string)).jsonString(.compact), new.createdAt
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

    /// All unfinished jobs in queue order (number, then acceptance).
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

    public func update(id: String, state: ConductorCore.Job.State, node: String?, placement: String? = nil) async throws {
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

    /// Removes queued jobs; returns the ids actually removed.
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

    /// Moves a job into history in one transaction: it is never both or neither. Its placement goes with it.
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

    public func historyEntry(id: String) async throws -> HistoryEntry? {
        try await database.read { db in
            guard let text = try String.fetchOne(db, sql: "SELECT entry FROM history WHERE id = ?", arguments: [id]) else { return nil }
            return try HistoryEntry(json: JSONValue(parsing: text))
        }
    }

    public func historyNode(id: String) async throws -> String? {
        try await database.read { db in try String.fetchOne(db, sql: "SELECT node FROM history WHERE id = ?", arguments: [id]) }
    }

    /// `GET /history?max_items&offset` with ComfyUI's semantics (offset from the oldest; max_items alone = newest N).
    public func historyPage(maxItems: Int?, offset: Int) async throws -> [(String, HistoryEntry)] {
        try await historyRows(maxItems: maxItems, offset: offset).map { id, text in (id, try HistoryEntry(json: JSONValue(parsing: text))) }
    }

    /// A page of history as ComfyUI's `GET /history` body (`{"id": entry, …}`), spliced from the stored entries'
    /// JSON text without parsing them: the page costs what reading its rows costs.
    public func historyPageBody(maxItems: Int?, offset: Int) async throws -> [UInt8] {
        Self.historyBody(try await historyRows(maxItems: maxItems, offset: offset))
    }

    /// `GET /history/{id}`'s body, spliced the same way: `{"id": entry}`, or `{}`.
    public func historyEntryBody(id: String) async throws -> [UInt8] {
        let text = try await database.read { db in try String.fetchOne(db, sql: "SELECT entry FROM history WHERE id = ?", arguments: [id]) }
        return Self.historyBody(text.map { [(id, $0)] } ?? [])
    }

    static func historyBody(_ rows: [(id: String, entry: String)]) -> [UInt8] {
        var body: [UInt8] = Array("{".utf8)
        for (index, row) in rows.enumerated() {
            if index > 0 { body += Array(", ".utf8) }
            body += JSONValue.string(row.id).serialized(.python) + Array(": ".utf8) + Array(row.entry.utf8)
        }
        return body + Array("}".utf8)
    }

    /// (id, entry JSON text) of a page, oldest first.
    func historyRows(maxItems: Int?, offset: Int) async throws -> [(String, String)] {
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

    /// Appends finished jobs to history in one transaction (an import; the benchmarks seed a large history with it).
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

    /// Whether a write failed for want of space (SQLite's FULL, or an I/O error writing): it may succeed later.
    static func isOutOfSpace(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return error.resultCode == .SQLITE_FULL || error.resultCode == .SQLITE_IOERR
    }

    /// Writes one row and commits, to learn whether the store can write again.
    func probeWrite() async throws {
        try await database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('write_probe', ?)", arguments: ["\(epochMilliseconds())"])
        }
    }

    /// The highest sequence ever used, so numbering continues after a restart.
    public func lastSequence() async throws -> Int64 {
        try await database.read { db in
            let a = try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM job") ?? 0
            let b = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'job'") ?? 0
            return max(a, b)
        }
    }
}

import ComfyWire
import ConductorCore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The store in PostgreSQL, for one coordinator or several sharing it (see `Leadership`). The same tables as
/// `SQLiteStore`; every write is a committed transaction before it returns, so what a client was told is durable
/// with the database's own durability (`synchronous_commit` as the server is configured).
public final class PostgresStore: JobStore {
    let client: PostgresClient
    let logger: Logger
    public let inserts = GroupCommit()
    public let settings: PostgresSettings
    private let runner: Task<Void, Never>

    /// Connects (the pool opens connections on demand), then brings the schema up to date: several coordinators
    /// starting at once migrate one after another under an advisory lock.
    public init(_ settings: PostgresSettings, logger: Logger) async throws {
        self.settings = settings
        self.logger = logger
        let client = PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
        do {
            try await Self.within(settings.answerSeconds, "open the store") { [self] in try await migrate() }
        } catch {
            runner.cancel()
            throw error
        }
    }

    deinit { runner.cancel() }

    /// Drops every table of the database's public schema, Conductor's and any other (benchmarks start empty).
    public static func wipe(_ settings: PostgresSettings, logger: Logger) async throws {
        let client = PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: logger)
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        try await within(settings.answerSeconds * 4, "wipe") {
            try await client.query("DROP SCHEMA public CASCADE", logger: logger)
            try await client.query("CREATE SCHEMA public", logger: logger)
        }
    }

    /// Closes the pool's connections.
    public func close() { runner.cancel() }

    // MARK: Schema

    /// Each migration runs once, in order, in its own transaction; the names are recorded in `conductor_migration`.
    static let migrations: [(name: String, sql: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE job (
                    sequence BIGSERIAL PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    number TEXT NOT NULL,
                    number_value DOUBLE PRECISION NOT NULL,
                    client_id TEXT,
                    principal TEXT,
                    prompt TEXT NOT NULL,
                    extra_data TEXT NOT NULL,
                    outputs TEXT NOT NULL,
                    state TEXT NOT NULL,
                    node TEXT,
                    placement TEXT,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX job_order ON job(number_value, sequence)",
                """
                CREATE TABLE history (
                    sequence BIGSERIAL PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    node TEXT,
                    entry TEXT NOT NULL,
                    completed_at BIGINT NOT NULL,
                    placement TEXT
                )
                """,
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
                """
                CREATE TABLE file (
                    kind TEXT NOT NULL,
                    subfolder TEXT NOT NULL,
                    name TEXT NOT NULL,
                    hash TEXT NOT NULL,
                    size BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    used_at BIGINT NOT NULL,
                    PRIMARY KEY (kind, subfolder, name)
                )
                """,
                "CREATE INDEX file_hash ON file(hash)",
                """
                CREATE TABLE node_file (
                    node TEXT NOT NULL,
                    hash TEXT NOT NULL,
                    subfolder TEXT NOT NULL,
                    name TEXT NOT NULL,
                    size BIGINT NOT NULL,
                    used_at BIGINT NOT NULL,
                    PRIMARY KEY (node, hash)
                )
                """,
                """
                CREATE TABLE fleet_node (
                    name TEXT PRIMARY KEY,
                    config TEXT,
                    removed BOOLEAN NOT NULL DEFAULT false,
                    draining BOOLEAN NOT NULL DEFAULT false,
                    changed_at BIGINT NOT NULL,
                    change BIGSERIAL
                )
                """,
                // The coordinators sharing this database: where each serves, and when it last said it is alive. The
                // leader is whoever holds the advisory lock (`Leadership`); its row says where to forward to.
                """
                CREATE TABLE coordinator (
                    id TEXT PRIMARY KEY,
                    url TEXT NOT NULL,
                    leader BOOLEAN NOT NULL DEFAULT false,
                    term BIGINT NOT NULL DEFAULT 0,
                    seen_at BIGINT NOT NULL
                )
                """
            ]
        )
    ]

    func migrate() async throws {
        try await client.withTransaction(logger: logger) { connection in
            // One coordinator migrates at a time; the others wait here, then find nothing left to do.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS conductor_migration (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", logger: logger)
            var applied: Set<String> = []
            for try await name in try await connection.query("SELECT name FROM conductor_migration", logger: logger).decode(String.self) {
                applied.insert(name)
            }
            for migration in Self.migrations where !applied.contains(migration.name) {
                for statement in migration.sql { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await connection.query(
                    "INSERT INTO conductor_migration (name, applied_at) VALUES (\(migration.name), \(epochMilliseconds()))", logger: logger)
            }
        }
    }

    /// Advisory lock keys (one 64-bit space per database): migrations, and the fleet's leader.
    static let migrationLockKey: Int64 = 0x636F_6E64_0001
    static let leaderLockKey: Int64 = 0x636F_6E64_0002

    // MARK: Helpers

    /// Runs `body`, or throws `PostgresTimeout` when it has not answered within `seconds` (a server that is down makes
    /// the pool wait for a connection; a client must hear 503 instead). The work itself may still finish later.
    static func within<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let answered = Once()
        return try await withCheckedThrowingContinuation { continuation in
            let work = Task {
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                if answered.first() { continuation.resume(with: result) }
            }
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                if answered.first() {
                    work.cancel()
                    continuation.resume(throwing: PostgresTimeout(what: what, seconds: seconds))
                }
            }
        }
    }

    func all<each Column: PostgresDecodable>(
        _ query: PostgresQuery, as columns: (repeat each Column).Type
    ) async throws -> [(
        repeat each Column
    )] {
        var rows: [(repeat each Column)] = []
        for try await row in try await client.query(query, logger: logger).decode(columns) { rows.append(row) }
        return rows
    }

    func one<Value: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: Value.Type) async throws -> Value? {
        let (client, logger) = (self.client, self.logger)
        return try await Self.within(settings.answerSeconds, "read") {
            for try await value in try await client.query(query, logger: logger).decode(Value.self) { return value }
            return nil
        }
    }

    func execute(_ query: PostgresQuery) async throws {
        let (client, logger) = (self.client, self.logger)
        try await Self.within(settings.answerSeconds, "write") { try await client.query(query, logger: logger) }
    }

    typealias JobRow = (Int64, String, String, String?, String?, String, String, String, String, String?, String?, Int64)
    static let jobColumns = "sequence, id, number, client_id, principal, prompt, extra_data, outputs, state, node, placement, created_at"

    static func job(_ row: JobRow) throws -> ConductorCore.Job {
        try StoredJSON.job(
            id: row.1, sequence: row.0, number: row.2, clientID: row.3, principal: row.4, prompt: row.5, extraData: row.6,
            outputs: row.7, state: row.8, node: row.9, placement: row.10, createdAt: row.11)
    }

    func jobs(_ query: PostgresQuery) async throws -> [ConductorCore.Job] {
        try await all(
            query, as: (Int64, String, String, String?, String?, String, String, String, String, String?, String?, Int64).self
        ).map(Self.job)
    }

    // MARK: Queue

    public func insertAll(_ batch: [NewJob]) async -> [Result<ConductorCore.Job, any Error>] {
        do {
            let (client, logger) = (self.client, self.logger)
            return try await Self.within(settings.answerSeconds, "store new jobs") {
                try await Self.insert(batch, client: client, logger: logger)
            }
        } catch {
            return batch.map { _ in .failure(error) }
        }
    }

    static func insert(_ batch: [NewJob], client: PostgresClient, logger: Logger) async throws -> [Result<ConductorCore.Job, any Error>] {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                var results: [Result<ConductorCore.Job, any Error>] = []
                for new in batch {
                    let columns = StoredJSON.columns(new)
                    // Each insert in its own savepoint: a duplicate id fails alone.
                    try await connection.query("SAVEPOINT one_job", logger: logger)
                    do {
                        var sequence: Int64 = 0
                        for try await value in try await connection.query(
                            """
                            INSERT INTO job (id, number, number_value, client_id, principal, prompt, extra_data, outputs, state, created_at)
                            VALUES (\(new.id), \(columns.number), \(columns.value), \(new.clientID), \(new.principal), \(columns.prompt),
                                    \(columns.extra), \(columns.outputs), 'queued', \(new.createdAt))
                            RETURNING sequence
                            """, logger: logger
                        ).decode(Int64.self) { sequence = value }
                        try await connection.query("RELEASE SAVEPOINT one_job", logger: logger)
                        results.append(
                            .success(
                                ConductorCore.Job(
                                    id: new.id, sequence: sequence, number: new.number, clientID: new.clientID,
                                    principal: new.principal, prompt: new.prompt, extraData: new.extraData,
                                    outputsToExecute: new.outputs, state: .queued, node: nil, placement: nil,
                                    createdAt: new.createdAt)))
                    } catch {
                        try await connection.query("ROLLBACK TO SAVEPOINT one_job", logger: logger)
                        results.append(.failure(error))
                    }
                }
                return results
            }
        }
    }

    public func contains(id: String) async throws -> Bool {
        try await one(
            "SELECT EXISTS(SELECT 1 FROM job WHERE id = \(id)) OR EXISTS(SELECT 1 FROM history WHERE id = \(id))", as: Bool.self)
            ?? false
    }

    public func activeJobs() async throws -> [ConductorCore.Job] {
        try await jobs("SELECT \(unescaped: Self.jobColumns) FROM job ORDER BY number_value, sequence")
    }

    public func job(id: String) async throws -> ConductorCore.Job? {
        try await jobs("SELECT \(unescaped: Self.jobColumns) FROM job WHERE id = \(id)").first
    }

    public func update(id: String, state: ConductorCore.Job.State, node: String?, placement: String?) async throws {
        if let placement {
            try await execute("UPDATE job SET state = \(state.rawValue), node = \(node), placement = \(placement) WHERE id = \(id)")
        } else {
            try await execute("UPDATE job SET state = \(state.rawValue), node = \(node) WHERE id = \(id)")
        }
    }

    public func deleteQueued(ids: [String]) async throws -> [String] {
        let removed = try await all("DELETE FROM job WHERE id = ANY(\(ids)) AND state = 'queued' RETURNING id", as: (String).self)
        return ids.filter(Set(removed).contains)
    }

    public func deleteJob(id: String) async throws {
        try await execute("DELETE FROM job WHERE id = \(id)")
    }

    public func lastSequence() async throws -> Int64 {
        // The sequence's own counter: it never goes back, even when the newest jobs left the queue.
        try await one(
            "SELECT GREATEST(COALESCE((SELECT MAX(sequence) FROM job), 0), (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM job_sequence_seq))",
            as: Int64.self) ?? 0
    }

    // MARK: History

    public func complete(id: String, node: String?, entry: HistoryEntry, completedAt: Int64) async throws {
        let text = entry.json.jsonString(.python)
        let logger = self.logger
        // The placement travels with the row: the job leaves the queue and enters history in one transaction.
        try await client.withTransaction(logger: logger) { connection in
            var placement: String?
            for try await value in try await connection.query(
                "DELETE FROM job WHERE id = \(id) RETURNING placement", logger: logger
            ).decode(String?.self) { placement = value }
            try await connection.query("DELETE FROM history WHERE id = \(id)", logger: logger)
            try await connection.query(
                """
                INSERT INTO history (id, node, entry, completed_at, placement) VALUES (\(id), \(node), \(text), \(completedAt), \(placement))
                """, logger: logger)
        }
    }

    public func historyEntryText(id: String) async throws -> String? {
        try await one("SELECT entry FROM history WHERE id = \(id)", as: String.self)
    }

    public func historyNode(id: String) async throws -> String? {
        try await one("SELECT node FROM history WHERE id = \(id)", as: String?.self) ?? nil
    }

    public func historyRows(maxItems: Int?, offset: Int) async throws -> [(String, String)] {
        if offset < 0, let maxItems {
            return try await all(
                "SELECT id, entry FROM history ORDER BY sequence DESC LIMIT \(maxItems)", as: (String, String).self
            ).reversed()
        }
        return try await all(
            "SELECT id, entry FROM history ORDER BY sequence LIMIT \(maxItems) OFFSET \(max(0, offset))", as: (String, String).self)
    }

    public func appendHistory(_ entries: [(id: String, node: String?, entry: HistoryEntry, completedAt: Int64)]) async throws {
        // In slices, each one statement: a million rows in a few hundred round trips.
        let logger = self.logger
        try await client.withTransaction(logger: logger) { connection in
            var start = 0
            while start < entries.count {
                let slice = entries[start..<min(entries.count, start + 5_000)]
                try await connection.query(
                    """
                    INSERT INTO history (id, node, entry, completed_at)
                    SELECT * FROM UNNEST(\(slice.map(\.id)), \(slice.map { $0.node ?? "" }), \(slice.map { $0.entry.json.jsonString(.python) }),
                                         \(slice.map(\.completedAt)))
                    ON CONFLICT (id) DO UPDATE SET node = excluded.node, entry = excluded.entry, completed_at = excluded.completed_at
                    """, logger: logger)
                start += slice.count
            }
        }
    }

    public func deleteHistory(ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await execute("DELETE FROM history WHERE id = ANY(\(ids))")
    }

    public func clearHistory() async throws {
        try await execute("DELETE FROM history")
    }

    public func recentlyFinished(limit: Int) async throws -> [FinishedJob] {
        try await finishedJobs("SELECT id, node, placement, completed_at, entry FROM history ORDER BY sequence DESC LIMIT \(limit)")
    }

    public func finishedJob(id: String) async throws -> FinishedJob? {
        try await finishedJobs("SELECT id, node, placement, completed_at, entry FROM history WHERE id = \(id)").first
    }

    public func finished(since completedAt: Int64) async throws -> [FinishedJob] {
        try await finishedJobs(
            """
            SELECT id, node, placement, completed_at, entry FROM
                (SELECT id, node, placement, completed_at, entry, sequence FROM history ORDER BY sequence DESC LIMIT \(StoredJSON.recentRowsScanned)) AS newest
            WHERE completed_at >= \(completedAt) ORDER BY sequence
            """)
    }

    func finishedJobs(_ query: PostgresQuery) async throws -> [FinishedJob] {
        try await all(query, as: (String, String?, String?, Int64, String).self).map { row in
            FinishedJob(
                id: row.0, node: row.1, placement: row.2, completedAt: row.3, entry: try HistoryEntry(json: JSONValue(parsing: row.4)))
        }
    }

    // MARK: Installation and fleet

    public func instanceID() async throws -> String {
        // Several coordinators starting at once: the first insert wins, every one reads the same id.
        try await execute(
            "INSERT INTO meta (key, value) VALUES ('instance', \(StoredJSON.newInstanceID())) ON CONFLICT (key) DO NOTHING")
        guard let id = try await one("SELECT value FROM meta WHERE key = 'instance'", as: String.self) else {
            throw PostgresStoreError("the installation's id vanished")
        }
        return id
    }

    public func vramNeeds() async throws -> [String: Int64] {
        try StoredJSON.vramNeeds(try await one("SELECT value FROM meta WHERE key = 'vram_needs'", as: String.self))
    }

    public func setVRAMNeeds(_ needs: [String: Int64]) async throws {
        try await execute(
            """
            INSERT INTO meta (key, value) VALUES ('vram_needs', \(StoredJSON.vramNeedsText(needs)))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """)
    }

    public func fleetChanges() async throws -> [FleetChange] {
        try await all(
            "SELECT name, config, removed, draining FROM fleet_node ORDER BY changed_at, change", as: (String, String?, Bool, Bool).self
        ).map { StoredJSON.fleetChange(name: $0.0, config: $0.1, removed: $0.2, draining: $0.3) }
    }

    public func saveAddedNode(_ node: ClusterConfig.Node) async throws {
        try await execute(
            """
            INSERT INTO fleet_node (name, config, removed, draining, changed_at) VALUES (\(node.name), \(node.json.jsonString(.compact)), false, false, \(epochMilliseconds()))
            ON CONFLICT (name) DO UPDATE SET config = excluded.config, removed = false, draining = false, changed_at = excluded.changed_at
            """)
    }

    public func saveRemovedNode(_ name: String) async throws {
        try await execute(
            """
            INSERT INTO fleet_node (name, config, removed, draining, changed_at) VALUES (\(name), NULL, true, false, \(epochMilliseconds()))
            ON CONFLICT (name) DO UPDATE SET config = NULL, removed = true, draining = false, changed_at = excluded.changed_at
            """)
    }

    public func saveDraining(_ name: String, _ draining: Bool) async throws {
        try await execute(
            """
            INSERT INTO fleet_node (name, config, removed, draining, changed_at) VALUES (\(name), NULL, false, \(draining), \(epochMilliseconds()))
            ON CONFLICT (name) DO UPDATE SET draining = excluded.draining
            """)
    }

    // MARK: Health

    public func temporaryFailure(_ error: any Error) -> (type: String, message: String)? {
        var error = error
        if let transaction = error as? PostgresTransactionError {
            error = transaction.closureError ?? transaction.beginError ?? transaction.commitError ?? error
        }
        if error is PostgresTimeout { return ("storage_unavailable", "its database (PostgreSQL) did not answer in time") }
        guard let error = error as? PSQLError else { return nil }
        switch error.code {
        case .server:
            // Class 53: insufficient resources (disk full, out of memory, too many connections); 57P: the server is
            // shutting down or starting; 08: a connection exception.
            let state = error.serverInfo?[.sqlState] ?? ""
            guard state.hasPrefix("53") || state.hasPrefix("57P") || state.hasPrefix("08") else { return nil }
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .poolClosed, .clientClosedConnection:
            break
        default:
            return nil
        }
        return ("storage_unavailable", "its database (PostgreSQL) is out of reach or full")
    }

    public func probeWrite() async throws {
        try await execute(
            """
            INSERT INTO meta (key, value) VALUES ('write_probe', \("\(epochMilliseconds())"))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """)
    }

    // MARK: File books

    typealias FileRow = (String, String, String, String, Int64)
    static func storedFile(_ row: FileRow) -> StoredFile? {
        guard let kind = FileReference.Kind(rawValue: row.0) else { return nil }
        return StoredFile(kind: kind, subfolder: row.1, name: row.2, hash: row.3, size: row.4)
    }

    public func filesAndCopies() async throws -> (files: [StoredFile], copies: [NodeCopy]) {
        let files = try await all("SELECT kind, subfolder, name, hash, size FROM file", as: FileRow.self).compactMap(Self.storedFile)
        let copies = try await all("SELECT node, hash, subfolder, name, size FROM node_file", as: (String, String, String, String, Int64).self)
            .map { NodeCopy(node: $0.0, hash: $0.1, subfolder: $0.2, name: $0.3, size: $0.4) }
        return (files, copies)
    }

    public func claimName(
        _ blob: Blob, filename: String, subfolder: String, kind: FileReference.Kind, overwrite: Bool
    ) async throws
        -> StoredFile
    {
        let now = epochMilliseconds()
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in
            // Names are claimed one at a time fleet-wide (two coordinators uploading `a.png` at once get `a.png` and
            // `a (1).png`, as one ComfyUI would).
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey + 16))", logger: logger)
            var n = 0
            while true {
                let name = UploadNaming.candidate(filename, n)
                var existing: String?
                for try await hash in try await connection.query(
                    "SELECT hash FROM file WHERE kind = \(kind.rawValue) AND subfolder = \(subfolder) AND name = \(name)", logger: logger
                ).decode(String.self) { existing = hash }
                if existing == nil || existing == blob.hash || overwrite {
                    try await connection.query(
                        """
                        INSERT INTO file (kind, subfolder, name, hash, size, created_at, used_at)
                        VALUES (\(kind.rawValue), \(subfolder), \(name), \(blob.hash), \(blob.size), \(now), \(now))
                        ON CONFLICT (kind, subfolder, name) DO UPDATE SET hash = excluded.hash, size = excluded.size, used_at = excluded.used_at
                        """, logger: logger)
                    return StoredFile(kind: kind, subfolder: subfolder, name: name, hash: blob.hash, size: blob.size)
                }
                n += 1
            }
        }
    }

    public func touchFiles(_ hashes: Set<String>) async throws {
        guard !hashes.isEmpty else { return }
        try await execute("UPDATE file SET used_at = \(epochMilliseconds()) WHERE hash = ANY(\(Array(hashes)))")
    }

    public func evictFiles(maxBytes: Int64, maxAge: Double, keep: Set<String>) async throws -> (names: [StoredFile], blobs: [String]) {
        let cutoff = epochMilliseconds() - Int64(maxAge * 1000)
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in
            var blobs: [(hash: String, size: Int64, used: Int64)] = []
            for try await row in try await connection.query(
                "SELECT hash, MAX(size), MAX(used_at) AS used FROM file GROUP BY hash ORDER BY used", logger: logger
            ).decode((String, Int64, Int64).self) { blobs.append((row.0, row.1, row.2)) }
            let victims = FileRetention.victims(blobs, cutoff: cutoff, maxBytes: maxBytes, keep: keep)
            var removed: [StoredFile] = []
            if !victims.isEmpty {
                for try await row in try await connection.query(
                    "DELETE FROM file WHERE hash = ANY(\(victims)) RETURNING kind, subfolder, name, hash, size", logger: logger
                ).decode(FileRow.self) {
                    if let file = Self.storedFile(row) { removed.append(file) }
                }
            }
            return (removed, victims)
        }
    }

    public func recordCopy(_ copy: NodeCopy) async throws {
        try await execute(
            """
            INSERT INTO node_file (node, hash, subfolder, name, size, used_at)
            VALUES (\(copy.node), \(copy.hash), \(copy.subfolder), \(copy.name), \(copy.size), \(epochMilliseconds()))
            ON CONFLICT (node, hash) DO UPDATE SET subfolder = excluded.subfolder, name = excluded.name, used_at = excluded.used_at
            """)
    }

    public func touchCopies(_ hashes: Set<String>, on node: String) async throws {
        guard !hashes.isEmpty else { return }
        try await execute("UPDATE node_file SET used_at = \(epochMilliseconds()) WHERE node = \(node) AND hash = ANY(\(Array(hashes)))")
    }

    public func excessCopies(on node: String, maxBytes: Int64, keep: Set<String>) async throws -> [NodeCopy] {
        let copies = try await all(
            "SELECT node, hash, subfolder, name, size FROM node_file WHERE node = \(node) ORDER BY used_at",
            as: (String, String, String, String, Int64).self
        ).map { NodeCopy(node: $0.0, hash: $0.1, subfolder: $0.2, name: $0.3, size: $0.4) }
        return FileRetention.excess(copies, maxBytes: maxBytes, keep: keep)
    }

    public func forgetCopy(_ copy: NodeCopy) async throws {
        try await execute("DELETE FROM node_file WHERE node = \(copy.node) AND hash = \(copy.hash)")
    }

    public func forgetCopies(on node: String) async throws {
        try await execute("DELETE FROM node_file WHERE node = \(node)")
    }
}

/// True for the first caller only.
public final class Once: Sendable {
    private let done = Atomic<Bool>(false)
    public init() {}
    public func first() -> Bool { !done.exchange(true, ordering: .acquiringAndReleasing) }
}

struct PostgresTimeout: Error, CustomStringConvertible {
    var what: String
    var seconds: Double
    var description: String { "PostgreSQL did not answer within \(seconds) s (\(what))" }
}

struct PostgresStoreError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

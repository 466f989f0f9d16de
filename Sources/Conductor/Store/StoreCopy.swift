import Foundation
import GRDB
import PostgresNIO

/// `conductor store copy`: an existing SQLite store (queue, history, installation id, fleet changes, file books)
/// into an empty PostgreSQL one, rows and numbering unchanged, in one PostgreSQL transaction (all or nothing).
/// The blobs stay where they are: the data directory's `files/` goes with the coordinators' shared mount.
extension PostgresStore {
    public struct CopyCounts: Sendable, CustomStringConvertible {
        public var jobs = 0, history = 0, meta = 0, files = 0, copies = 0, fleetChanges = 0
        public var description: String {
            "\(jobs) queued or running jobs, \(history) history entries, \(files) file names, \(copies) node copies, "
                + "\(fleetChanges) fleet changes, \(meta) settings"
        }
    }

    public func copy(from source: SQLiteStore) async throws -> CopyCounts {
        let logger = self.logger
        let database = source.database
        return try await client.withTransaction(logger: logger) { connection in
            var nonEmpty = false
            for try await count in try await connection.query(
                "SELECT (SELECT COUNT(*) FROM job) + (SELECT COUNT(*) FROM history) + (SELECT COUNT(*) FROM file)", logger: logger
            ).decode(Int64.self) { nonEmpty = count > 0 }
            guard !nonEmpty else {
                throw PostgresStoreError("the PostgreSQL store already holds jobs, history or files: copy only into an empty one")
            }
            var counts = CopyCounts()

            let jobs = try await database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM job ORDER BY sequence") }
            for row in jobs {
                let number: String = row["number"]
                let value: Double = row["number_value"]
                let (sequence, id, clientID, principal): (Int64, String, String?, String?) = (
                    row["sequence"], row["id"], row["client_id"], row["principal"]
                )
                let (prompt, extra, outputs, state): (String, String, String, String) = (
                    row["prompt"], row["extra_data"], row["outputs"], row["state"]
                )
                let (node, placement, created): (String?, String?, Int64) = (row["node"], row["placement"], row["created_at"])
                try await connection.query(
                    """
                    INSERT INTO job (sequence, id, number, number_value, client_id, principal, prompt, extra_data, outputs, state, node, placement, created_at)
                    VALUES (\(sequence), \(id), \(number), \(value), \(clientID), \(principal), \(prompt), \(extra), \(outputs), \(state), \(node), \(placement), \(created))
                    """, logger: logger)
            }
            counts.jobs = jobs.count

            // History in slices: a million rows in a few hundred statements.
            var after: Int64 = -1
            while true {
                let rows = try await database.read { db in
                    try Row.fetchAll(db, sql: "SELECT * FROM history WHERE sequence > ? ORDER BY sequence LIMIT 5000", arguments: [after])
                }
                guard let last = rows.last else { break }
                after = last["sequence"]
                let sequences: [Int64] = rows.map { $0["sequence"] }
                let ids: [String] = rows.map { $0["id"] }
                let nodes: [String?] = rows.map { $0["node"] }
                let entries: [String] = rows.map { $0["entry"] }
                let completed: [Int64] = rows.map { $0["completed_at"] }
                let placements: [String?] = rows.map { $0["placement"] }
                try await connection.query(
                    """
                    INSERT INTO history (sequence, id, node, entry, completed_at, placement)
                    SELECT * FROM UNNEST(\(sequences), \(ids), \(nodes.map { $0 ?? "\u{1}null\u{1}" }), \(entries), \(completed), \(placements.map { $0 ?? "\u{1}null\u{1}" }))
                    """, logger: logger)
                counts.history += rows.count
            }
            // NULLs travel as a marker (arrays of optionals are not bound); put them back.
            try await connection.query("UPDATE history SET node = NULL WHERE node = \("\u{1}null\u{1}")", logger: logger)
            try await connection.query("UPDATE history SET placement = NULL WHERE placement = \("\u{1}null\u{1}")", logger: logger)

            let meta = try await database.read { db in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") }
            for row in meta {
                let (key, value): (String, String) = (row["key"], row["value"])
                try await connection.query(
                    "INSERT INTO meta (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value", logger: logger)
            }
            counts.meta = meta.count

            let files = try await database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM file") }
            for row in files {
                let (kind, subfolder, name, hash): (String, String, String, String) = (row["kind"], row["subfolder"], row["name"], row["hash"])
                let (size, created, used): (Int64, Int64, Int64) = (row["size"], row["created_at"], row["used_at"])
                try await connection.query(
                    """
                    INSERT INTO file (kind, subfolder, name, hash, size, created_at, used_at)
                    VALUES (\(kind), \(subfolder), \(name), \(hash), \(size), \(created), \(used))
                    """, logger: logger)
            }
            counts.files = files.count

            let copies = try await database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM node_file") }
            for row in copies {
                let (node, hash, subfolder, name): (String, String, String, String) = (row["node"], row["hash"], row["subfolder"], row["name"])
                let (size, used): (Int64, Int64) = (row["size"], row["used_at"])
                try await connection.query(
                    """
                    INSERT INTO node_file (node, hash, subfolder, name, size, used_at)
                    VALUES (\(node), \(hash), \(subfolder), \(name), \(size), \(used))
                    """, logger: logger)
            }
            counts.copies = copies.count

            let fleet = try await database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM fleet_node ORDER BY changed_at, rowid") }
            for row in fleet {
                let (name, config, changed): (String, String?, Int64) = (row["name"], row["config"], row["changed_at"])
                let (removed, draining): (Bool, Bool) = ((row["removed"] as Int64) != 0, (row["draining"] as Int64) != 0)
                try await connection.query(
                    """
                    INSERT INTO fleet_node (name, config, removed, draining, changed_at)
                    VALUES (\(name), \(config), \(removed), \(draining), \(changed))
                    """, logger: logger)
            }
            counts.fleetChanges = fleet.count

            // Numbering goes on from where SQLite left it.
            let lastJob = try await source.lastSequence()
            try await connection.query(
                "SELECT setval('job_sequence_seq', GREATEST(\(lastJob), (SELECT COALESCE(MAX(sequence), 0) FROM job), 1))", logger: logger)
            try await connection.query(
                "SELECT setval('history_sequence_seq', GREATEST((SELECT COALESCE(MAX(sequence), 0) FROM history), 1))", logger: logger)
            return counts
        }
    }
}

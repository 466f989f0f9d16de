import ComfyWire
import ConductorCore
import Foundation
import GRDB

extension SQLiteStore {
    public func fleetChanges() async throws -> [FleetChange] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT name, config, removed, draining FROM fleet_node ORDER BY changed_at, rowid").map { row in
                StoredJSON.fleetChange(name: row["name"], config: row["config"], removed: row["removed"] != 0, draining: row["draining"] != 0)
            }
        }
    }

    public func saveAddedNode(_ node: ClusterConfig.Node) async throws {
        let text = node.json.jsonString(.compact)
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO fleet_node (name, config, removed, draining, changed_at) VALUES (?, ?, 0, 0, ?)
                    ON CONFLICT(name) DO UPDATE SET config = excluded.config, removed = 0, draining = 0, changed_at = excluded.changed_at
                    """, arguments: [node.name, text, epochMilliseconds()])
        }
    }

    public func saveRemovedNode(_ name: String) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO fleet_node (name, config, removed, draining, changed_at) VALUES (?, NULL, 1, 0, ?)
                    ON CONFLICT(name) DO UPDATE SET config = NULL, removed = 1, draining = 0, changed_at = excluded.changed_at
                    """, arguments: [name, epochMilliseconds()])
        }
    }

    public func saveDraining(_ name: String, _ draining: Bool) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO fleet_node (name, config, removed, draining, changed_at) VALUES (?, NULL, 0, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET draining = excluded.draining
                    """, arguments: [name, draining ? 1 : 0, epochMilliseconds()])
        }
    }

}

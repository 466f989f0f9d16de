import ComfyWire
import ConductorCore
import Foundation
import GRDB

/// An operator's change to one node, kept over cluster.json across restarts.
public struct FleetChange: Sendable, Hashable {
    public var name: String
    /// The node as added at run time (replacing cluster.json's node of that name), or nil to keep cluster.json's.
    public var config: ClusterConfig.Node?
    public var removed = false
    public var draining = false
}

extension ClusterConfig {
    /// cluster.json's nodes with an operator's run-time changes applied, in order: cluster.json's nodes first
    /// (a removed one left out, a replaced one in its place), then the nodes added at run time, oldest first.
    public func fleet(with changes: [FleetChange]) -> [Node] {
        let byName = Dictionary(changes.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        var fleet: [Node] = nodes.compactMap { node in
            guard let change = byName[node.name] else { return node }
            return change.removed ? nil : change.config ?? node
        }
        let configured = Set(nodes.map(\.name))
        fleet += changes.filter { !$0.removed && !configured.contains($0.name) }.compactMap(\.config)
        return fleet
    }
}

extension JobStore {
    /// The operator's changes to the fleet, oldest first.
    public func fleetChanges() async throws -> [FleetChange] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT name, config, removed, draining FROM fleet_node ORDER BY changed_at, rowid").map { row in
                let text: String? = row["config"]
                let config = text.flatMap { try? JSONValue(parsing: $0) }.flatMap { try? ClusterConfig.Node(json: $0) }
                return FleetChange(name: row["name"], config: config, removed: row["removed"] != 0, draining: row["draining"] != 0)
            }
        }
    }

    /// Records a node added (or re-added) at run time.
    public func saveAddedNode(_ node: ClusterConfig.Node) async throws {
        let text = node.json.jsonString(.compact)
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO fleet_node (name, config, removed, draining, changed_at) VALUES (?, ?, 0, 0, ?)
                ON CONFLICT(name) DO UPDATE SET config = excluded.config, removed = 0, draining = 0, changed_at = excluded.changed_at
                """, arguments: [node.name, text, Self.now()])
        }
    }

    /// Records a node removed at run time.
    public func saveRemovedNode(_ name: String) async throws {
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO fleet_node (name, config, removed, draining, changed_at) VALUES (?, NULL, 1, 0, ?)
                ON CONFLICT(name) DO UPDATE SET config = NULL, removed = 1, draining = 0, changed_at = excluded.changed_at
                """, arguments: [name, Self.now()])
        }
    }

    /// Records whether a node is drained.
    public func saveDraining(_ name: String, _ draining: Bool) async throws {
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO fleet_node (name, config, removed, draining, changed_at) VALUES (?, NULL, 0, ?, ?)
                ON CONFLICT(name) DO UPDATE SET draining = excluded.draining
                """, arguments: [name, draining ? 1 : 0, Self.now()])
        }
    }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}

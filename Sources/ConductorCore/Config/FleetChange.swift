/// An operator's change to one node, kept over cluster.json across restarts.
public struct FleetChange: Sendable, Hashable {
    public var name: String
    /// The node as added at run time (replacing cluster.json's node of that name), or nil to keep cluster.json's.
    public var config: ClusterConfig.Node?
    public var removed = false
    public var draining = false

    public init(name: String, config: ClusterConfig.Node? = nil, removed: Bool = false, draining: Bool = false) {
        self.name = name
        self.config = config
        self.removed = removed
        self.draining = draining
    }
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

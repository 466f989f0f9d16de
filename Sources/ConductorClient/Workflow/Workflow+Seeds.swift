import ComfyWire

extension Workflow {
    /// The input names that hold a sampler seed in core ComfyUI nodes (KSampler, KSamplerAdvanced, RandomNoise…).
    public static let seedInputs = ["seed", "noise_seed"]

    /// Seeds are drawn below 2^50, as ComfyUI's web UI draws them, so any seed widget accepts them.
    public static let seedLimit: UInt64 = 1 << 50

    /// One seed input that was given a new value.
    public struct SeedChange: Sendable, Hashable {
        public var nodeID: String
        public var input: String
        public var value: UInt64
    }

    /// Gives every literal `seed`/`noise_seed` input a new random value, or only those of the nodes
    /// named in `targets` (ids, titles or classes). A named node without a seed input is an error.
    @discardableResult
    public mutating func randomizeSeeds(
        only targets: [String]? = nil, using generator: inout some RandomNumberGenerator
    ) throws(ClientError) -> [SeedChange] {
        var ids: [String]
        if let targets {
            ids = []
            for target in targets {
                let id = try resolve(target)
                guard !seedInputNames(of: id).isEmpty else {
                    throw .usage("--randomize-node \(target): node \(label(of: id)) has no seed or noise_seed input.")
                }
                if !ids.contains(id) { ids.append(id) }
            }
        } else {
            ids = nodes.keys
        }
        var changes: [SeedChange] = []
        for id in ids {
            guard case .object(var node)? = nodes[id], var inputs = node["inputs"]?.objectValue else { continue }
            for name in seedInputNames(of: id) {
                let value = UInt64.random(in: 0..<Self.seedLimit, using: &generator)
                inputs[name] = .number(JSONNumber(value))
                changes.append(SeedChange(nodeID: id, input: name, value: value))
            }
            node["inputs"] = .object(inputs)
            nodes[id] = .object(node)
        }
        return changes
    }

    /// The seed inputs of a node that hold a literal number (a seed linked from another node is left alone).
    func seedInputNames(of id: String) -> [String] {
        guard let inputs = nodes[id]?["inputs"]?.objectValue else { return [] }
        return Self.seedInputs.filter { name in
            if case .number? = inputs[name] { return true }
            return false
        }
    }
}

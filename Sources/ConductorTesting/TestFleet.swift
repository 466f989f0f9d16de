import ComfyWire
import Conductor
import ConductorCore
import Foundation
import Logging
import SimulatedNode

/// A running fleet for a test: simulated nodes on loopback, Conductor in front of them.
public struct TestFleet: Sendable {
    /// The simulated nodes by name, with a client straight to each.
    public let nodes: [String: (node: SimulatedNode, client: TestClient)]
    /// A client of Conductor's ComfyUI endpoint.
    public let conductor: TestClient
    public let coordinator: Coordinator
    public let config: ClusterConfig

    public func node(_ name: String) -> SimulatedNode { nodes[name]!.node }
    public func direct(_ name: String) -> TestClient { nodes[name]!.client }
}

/// How a test fleet node is configured toward Conductor.
public struct TestNodeSpec: Sendable {
    public var profile: NodeProfile
    public var maxOutstanding: Int
    public var speed: Double?

    public init(_ profile: NodeProfile, maxOutstanding: Int = 2, speed: Double? = nil) {
        self.profile = profile
        self.maxOutstanding = maxOutstanding
        self.speed = speed
    }
}

extension NodeProfile {
    /// A test node named `name` holding the given checkpoints (sizes made up, small enough to all fit).
    public static func test(_ name: String, checkpoints: [String], speed: Double = 1, timeScale: Double = 0.001) -> NodeProfile {
        var profile = NodeProfile.test
        profile.name = name
        profile.speed = speed
        profile.timeScale = timeScale
        profile.checkpoints = checkpoints.map { ModelFile(name: $0, sizeBytes: 2_000_000_000) }
        return profile
    }
}

/// Starts the nodes, then Conductor with a data directory (kept across calls when given), waits
/// until Conductor sees every node up with its classes, runs `body`, and stops everything.
public func withFleet<T: Sendable>(
    _ specs: [TestNodeSpec], dataDirectory: URL? = nil, pollInterval: Double = 0.05,
    configure: @Sendable (inout ClusterConfig) -> Void = { _ in },
    _ body: @Sendable (TestFleet) async throws -> T
) async throws -> T {
    try await withNodes(specs, dataDirectory: dataDirectory, pollInterval: pollInterval) { started, config in
        var configured = config
        configure(&configured)
        let config = configured
        return try await withConductor(config) { coordinator, port in
            let fleet = TestFleet(nodes: started, conductor: TestClient(port: port), coordinator: coordinator, config: config)
            try await fleet.waitUntilReady()
            return try await body(fleet)
        }
    }
}

/// Starts only the simulated nodes, and hands over the cluster configuration for a Conductor in
/// front of them (so a test can start, stop and restart Conductor itself).
public func withNodes<T: Sendable>(
    _ specs: [TestNodeSpec], dataDirectory: URL? = nil, pollInterval: Double = 0.05,
    _ body: @Sendable ([String: (node: SimulatedNode, client: TestClient)], ClusterConfig) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { scratch in
        try await startNodes(specs[...], root: scratch, started: [:]) { started in
            let data = dataDirectory ?? scratch.appendingPathComponent("conductor")
            var config = ClusterConfig(
                nodes: specs.map { spec in
                    ClusterConfig.Node(
                        name: spec.profile.name, url: "http://127.0.0.1:\(started[spec.profile.name]!.client.port)",
                        maxOutstanding: spec.maxOutstanding, speed: spec.speed ?? spec.profile.speed)
                })
            config.dataDirectory = data.path
            config.pollIntervalSeconds = pollInterval
            config.checkpointLoadSeconds = 0.5
            return try await body(started, config)
        }
    }
}

/// Runs Conductor alone with a configuration (for restarts against the same data directory).
public func withConductor<T: Sendable>(_ config: ClusterConfig, _ body: @Sendable (Coordinator, Int) async throws -> T) async throws -> T {
    var logger = Logger(label: "test.conductor")
    logger.logLevel = .warning
    return try await ConductorServer.withRunning(config: config, logger: logger, body)
}

extension TestFleet {
    /// Waits until Conductor has every node up and knows its node classes.
    public func waitUntilReady(timeout: Double = 20) async throws {
        try await ConductorTesting.waitUntilReady(coordinator, nodeCount: nodes.count, timeout: timeout)
    }
}

/// Waits until a coordinator has every node up and knows its node classes.
public func waitUntilReady(_ coordinator: Coordinator, nodeCount: Int, timeout: Double = 20) async throws {
    try await eventually(timeout: timeout, "all nodes up in Conductor") {
        let health = await coordinator.nodeHealth()
        guard health.count == nodeCount, health.values.allSatisfy({ $0 == .up }) else { return false }
        return await coordinator.fleetObjectInfo()["KSampler"] != nil
    }
}

extension TestFleet {

    /// A KSampler prompt for a checkpoint (the seed workflow's shape), small and fast.
    public static func prompt(checkpoint: String, seed: Int = 1, steps: Int = 4, size: Int = 64, prefix: String = "ComfyUI") -> JSONValue {
        [
            "3": [
                "class_type": "KSampler",
                "inputs": [
                    "seed": .int(seed), "steps": .int(steps), "cfg": 8, "sampler_name": "euler", "scheduler": "normal", "denoise": 1,
                    "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]
                ]
            ],
            "4": ["class_type": "CheckpointLoaderSimple", "inputs": ["ckpt_name": .string(checkpoint)]],
            "5": ["class_type": "EmptyLatentImage", "inputs": ["width": .int(size), "height": .int(size), "batch_size": 1]],
            "6": ["class_type": "CLIPTextEncode", "inputs": ["text": "a cat", "clip": ["4", 1]]],
            "7": ["class_type": "CLIPTextEncode", "inputs": ["text": "blurry", "clip": ["4", 1]]],
            "8": ["class_type": "VAEDecode", "inputs": ["samples": ["3", 0], "vae": ["4", 2]]],
            "9": ["class_type": "SaveImage", "inputs": ["filename_prefix": .string(prefix), "images": ["8", 0]]]
        ]
    }

    /// Which node ran a finished prompt, from the subfolder of its first output in Conductor's history.
    public func nodeThatRan(_ id: String) async throws -> String? {
        let entry = try await conductor.waitForHistory(id)
        let subfolder = entry["outputs"]?.objectValue?.values.first?["images"]?[0]?["subfolder"]?.stringValue
        return subfolder?.split(separator: "/").first.map(String.init)
    }
}

private func startNodes<T: Sendable>(
    _ specs: ArraySlice<TestNodeSpec>, root: URL, started: [String: (node: SimulatedNode, client: TestClient)],
    _ body: @Sendable ([String: (node: SimulatedNode, client: TestClient)]) async throws -> T
) async throws -> T {
    guard let spec = specs.first else { return try await body(started) }
    var logger = Logger(label: "test.sim-node")
    logger.logLevel = .warning
    return try await SimulatedNode.withRunning(
        profile: spec.profile, directory: root.appendingPathComponent(spec.profile.name), logger: logger
    ) { node, port in
        var next = started
        next[spec.profile.name] = (node, TestClient(port: port))
        return try await startNodes(specs.dropFirst(), root: root, started: next, body)
    }
}

import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SimulatedNode
import UnixSignals

/// `conductor sim-node`: a simulated ComfyUI server with a simulated GPU, for tests and demos.
struct SimNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim-node",
        abstract: "Run a simulated ComfyUI node (HTTP + WebSocket API, simulated GPU)."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = 8188

    @Option(help: "Node profile JSON (GPU, VRAM, speed, checkpoints, time scale). Default: an RTX 4090-like node with the seeds' checkpoints.")
    var profile: String?

    @Option(help: "Directory for the node's input/output/temp files (default: a new temporary directory).")
    var dataDir: String?

    @Option(help: "Real seconds per simulated second (overrides the profile), e.g. 0.01.")
    var timeScale: Double?

    @Flag(help: "Enable the fault-injection route POST /sim/faults.")
    var faultControl = false

    @Option(help: "Static web root served at / (overrides the profile), e.g. the comfyui-frontend-package's static folder.")
    var webRoot: String?

    func run() async throws {
        var nodeProfile = try profile.map { try NodeProfile.load(path: $0) } ?? NodeProfile.example
        if let timeScale { nodeProfile.timeScale = timeScale }
        if faultControl { nodeProfile.faultControl = true }
        if let webRoot { nodeProfile.webRoot = webRoot }
        let directory =
            dataDir.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("conductor-sim-\(UUID().uuidString.prefix(8))")
        var logger = Logger(label: "conductor.sim-node")
        logger.logLevel = .info
        let node = try SimulatedNode(profile: nodeProfile, directory: directory, logger: logger)
        let name = nodeProfile.name
        let server = SimulatedNodeServer(node: node, host: host, port: port, logger: logger) { bound in
            print("simulated ComfyUI node '\(name)' listening on http://\(host):\(bound) (files in \(directory.path))")
            fflush(nil)
        }
        let group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

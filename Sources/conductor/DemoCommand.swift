import ArgumentParser
import Conductor
import ConductorCore
import Foundation
import Logging
import ServiceLifecycle
import SimulatedNode
import UnixSignals

/// `conductor demo`: a small heterogeneous fleet of simulated GPU nodes behind Conductor, zero setup.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run Conductor in front of three simulated GPU nodes (no GPU, no configuration needed)."
    )

    @Option(help: "Port for Conductor's ComfyUI endpoint.")
    var port = 8188

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Real seconds per simulated second on the nodes (0.05 runs a 20 s job in 1 s).")
    var timeScale = 0.05

    @Option(help: "Directory for Conductor's database and the nodes' files (default: a new temporary directory).")
    var dataDir: String?

    @Option(
        help:
            "Static web root the nodes serve at / (the comfyui-frontend-package's static folder), so a browser gets the ComfyUI frontend through Conductor."
    )
    var webRoot: String?

    @OptionGroup var log: LogOptions

    /// Three nodes that differ the way a real farm does: speed, VRAM and which checkpoints they hold.
    static func fleet(timeScale: Double) -> [NodeProfile] {
        let sdxl = NodeProfile.ModelFile(name: "sdxl-动漫二次元_2.0.safetensors", sizeBytes: 6_938_078_334)
        let juggernaut = NodeProfile.ModelFile(name: "juggernautXL_v9Rundiffusionphoto2.safetensors", sizeBytes: 7_105_350_536)
        let sd15 = NodeProfile.ModelFile(name: "v1-5-pruned-emaonly.safetensors", sizeBytes: 4_265_146_304)
        // The checkpoint of the ComfyUI frontend's default workflow, so its Run button works in the demo.
        let sd15fp16 = NodeProfile.ModelFile(name: "v1-5-pruned-emaonly-fp16.safetensors", sizeBytes: 2_132_625_894)
        let svd = NodeProfile.ModelFile(name: "svd_xt_1_1.safetensors", sizeBytes: 4_783_292_704)
        let lora = NodeProfile.ModelFile(name: "add-detail-xl.safetensors", sizeBytes: 228_454_200)
        var fast = NodeProfile()
        fast.name = "gpu-4090"
        fast.deviceName = "cuda:0 NVIDIA GeForce RTX 4090 (simulated) : cudaMallocAsync"
        fast.vramTotalBytes = 24 << 30
        fast.speed = 2.0
        fast.checkpoints = [sdxl, juggernaut, sd15, sd15fp16]
        fast.loras = [lora]
        var mid = NodeProfile()
        mid.name = "gpu-3090"
        mid.deviceName = "cuda:0 NVIDIA GeForce RTX 3090 (simulated) : cudaMallocAsync"
        mid.vramTotalBytes = 24 << 30
        mid.speed = 1.2
        mid.checkpoints = [sdxl, sd15, sd15fp16, svd]
        var small = NodeProfile()
        small.name = "gpu-3060"
        small.deviceName = "cuda:0 NVIDIA GeForce RTX 3060 (simulated) : cudaMallocAsync"
        small.vramTotalBytes = 12 << 30
        small.speed = 0.6
        small.checkpoints = [sd15, sd15fp16]
        return [fast, mid, small].map { profile in
            var profile = profile
            profile.timeScale = timeScale
            return profile
        }
    }

    func run() async throws {
        let logger = log.logger(label: "conductor.demo")
        let root =
            dataDir.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("conductor-demo-\(UUID().uuidString.prefix(8))")
        // The simulated nodes only speak up about problems.
        let nodeLogger = log.logger(label: "conductor.demo", atLeast: .warning)
        let webRoot = webRoot
        let profiles = Self.fleet(timeScale: timeScale).map { profile in
            var profile = profile
            profile.webRoot = webRoot
            return profile
        }
        let (ports, portSink) = AsyncStream<(String, Int)>.makeStream()
        var services: [any Service] = []
        for profile in profiles {
            let node = try SimulatedNode(profile: profile, directory: root.appendingPathComponent(profile.name), logger: nodeLogger)
            let name = profile.name
            services.append(SimulatedNodeServer(node: node, logger: nodeLogger) { port in portSink.yield((name, port)) })
        }
        // Only Conductor's group takes SIGTERM/SIGINT; the nodes stop after it. Node links do not end on a
        // graceful shutdown, so each group is cancelled after a bounded wait rather than hanging the demo.
        var nodeConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        nodeConfiguration.maximumGracefulShutdownDuration = .seconds(2)
        let nodeGroup = ServiceGroup(configuration: nodeConfiguration)
        let host = host, port = port
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await nodeGroup.run() }
            var bound: [String: Int] = [:]
            for await (name, nodePort) in ports {
                bound[name] = nodePort
                if bound.count == profiles.count { break }
            }
            var cluster = ClusterConfig(
                nodes: profiles.map { profile in
                    ClusterConfig.Node(name: profile.name, url: "http://127.0.0.1:\(bound[profile.name] ?? 0)", speed: profile.speed)
                })
            cluster.listen = .init(host: host, port: port)
            cluster.dataDirectory = root.appendingPathComponent("conductor").path
            cluster.pollIntervalSeconds = 0.5
            let server = ConductorServer(config: cluster, logger: logger) { bound, _ in
                print(
                    """
                    Conductor demo: http://\(host):\(bound)  (the ComfyUI API; open it in a browser or point any ComfyUI client at it)
                    Simulated nodes: \(profiles.map { "\($0.name) (speed \($0.speed), \($0.checkpoints.count) checkpoints)" }.joined(separator: ", "))
                    Data: \(root.path)
                    Try:  curl -s -X POST http://\(host):\(bound)/prompt -H 'Content-Type: application/json' -d @Examples/sdxl-ksampler.json
                    """)
                fflush(nil)
            }
            var conductorConfiguration = ServiceGroupConfiguration(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            conductorConfiguration.maximumGracefulShutdownDuration = .seconds(2)
            let conductorGroup = ServiceGroup(configuration: conductorConfiguration)
            group.addTask {
                try await conductorGroup.run()
                await nodeGroup.triggerGracefulShutdown()
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

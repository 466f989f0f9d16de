import ArgumentParser
import Conductor
import ConductorCore
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `conductor serve`: one ComfyUI endpoint in front of the nodes of cluster.json.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the ComfyUI API in front of the nodes listed in cluster.json."
    )

    @Option(help: "Cluster configuration file.")
    var config = "cluster.json"

    @Option(help: "Override the listen port of the configuration.")
    var port: Int?

    @OptionGroup var log: LogOptions

    func run() async throws {
        let text: String
        do {
            text = try String(contentsOfFile: config, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(config): \(error.localizedDescription)")
        }
        var cluster: ClusterConfig
        do {
            cluster = try ClusterConfig(json: text)
        } catch {
            throw ValidationError(error.description)
        }
        if let port { cluster.listen.port = port }
        let finalCluster = cluster
        let logger = log.logger(label: "conductor")
        let host = cluster.listen.host
        let nodeCount = cluster.nodes.count
        let announced = Once()
        let server = ConductorServer(config: finalCluster, logger: logger) { bound, _ in
            // Once: a coordinator sharing a PostgreSQL store is told again when it is elected.
            guard announced.first() else { return }
            print("Conductor listening on http://\(host):\(bound) in front of \(nodeCount) node(s)")
            fflush(nil)
        }
        let group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

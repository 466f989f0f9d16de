import ArgumentParser
import ComfyWire
import ConductorClient
import Foundation

/// `conductor nodes [CLASS]`: the node classes (`GET /object_info`), or one class's inputs and outputs.
struct NodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "List the node classes, or show one class's inputs and outputs.")

    @OptionGroup var options: ServerOptions

    @Argument(help: "A node class, e.g. KSampler.")
    var nodeClass: String?

    @Option(help: "List only classes whose name, display name or category contains this text.")
    var search: String?

    @Flag(help: "Print the server's JSON answer.") var json = false

    func run() async throws {
        try await ClientRun.run(options) { client, output in
            if let nodeClass {
                let (info, answer) = try await client.nodeClass(nodeClass)
                if json { return output.json(answer) }
                return output.lines(NodeClassView.detail(name: nodeClass, info: info, width: output.width))
            }
            let classes = try await client.nodeClasses()
            if json {
                guard let search else { return output.json(.object(classes)) }
                return output.json(.object(JSONObject(classes.filter { $0.key.localizedCaseInsensitiveContains(search) }.map { ($0.key, $0.value) })))
            }
            output.lines(NodeClassView.list(classes, search: search, width: output.width))
        }
    }
}

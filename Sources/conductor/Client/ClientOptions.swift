import ArgumentParser
import ConductorClient

/// `--server`, shared by every client command.
struct ServerOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "ComfyUI or Conductor to talk to (default: $\(ServerAddress.environmentVariable), else \(ServerAddress.defaultURL)).",
            valueName: "url"))
    var server: String?
}

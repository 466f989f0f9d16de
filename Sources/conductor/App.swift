import ArgumentParser

/// `conductor`: one ComfyUI endpoint in front of a fleet of GPU nodes.
@main
struct Conductor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conductor",
        abstract: "One ComfyUI endpoint in front of many GPU nodes.",
        subcommands: [
            DemoCommand.self, ServeCommand.self, SimNodeCommand.self, BenchCommand.self,
            QueueCountCommand.self, SubmitCommand.self, HistoryCommand.self, ModelsCommand.self, NodesCommand.self,
            UploadCommand.self, CancelCommand.self, QueueCommand.self, ViewCommand.self, WatchCommand.self
        ]
    )
}

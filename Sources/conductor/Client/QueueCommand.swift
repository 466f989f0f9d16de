import ArgumentParser
import ConductorClient

/// `conductor queue`: the running and pending prompts with their client ids (`GET /queue`).
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "List the running and pending prompts, in the order they run, with their client ids.")

    @OptionGroup var options: ServerOptions
    @Flag(help: "Print the server's JSON answer.") var json = false

    func run() async throws {
        try await ClientRun.run(options) { client, output in
            let (status, answer) = try await client.queue()
            if json { return output.json(answer) }
            output.lines(QueueView.render(status, width: output.width))
        }
    }
}

import ArgumentParser
import ConductorClient

/// `conductor queue-count`: how many prompts are running or waiting (`GET /prompt`).
struct QueueCountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue-count", abstract: "Print how many prompts are running or waiting.")

    @OptionGroup var options: ServerOptions
    @Flag(help: "Print the server's JSON answer.") var json = false

    func run() async throws {
        try await ClientRun.run(options) { client, output in
            let (count, answer) = try await client.queueRemaining()
            if json { return output.json(answer) }
            output.line(count == 0 ? "The queue is empty." : "\(count) \(count == 1 ? "prompt" : "prompts") in the queue (running or waiting).")
        }
    }
}

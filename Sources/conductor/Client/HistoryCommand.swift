import ArgumentParser
import ConductorClient

/// `conductor history [ID]`: finished prompts (`GET /history`), or one of them (`GET /history/{id}`).
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List finished prompts, or show one with its outputs.",
        discussion: "Entries are listed oldest first, so the newest is next to the prompt.")

    @OptionGroup var options: ServerOptions

    @Argument(help: "A prompt id: show that prompt's status, times, error and outputs.")
    var promptID: String?

    @Option(help: "Show the newest N entries (0: all).")
    var limit = 20

    @Option(help: "Start N entries after the oldest (ComfyUI's offset), for paging through older entries.")
    var offset: Int?

    @Flag(help: "Print the server's JSON answer.") var json = false

    func validate() throws {
        if limit < 0 { throw ValidationError("--limit must be 0 or more.") }
        if let offset, offset < 0 { throw ValidationError("--offset must be 0 or more.") }
    }

    func run() async throws {
        try await ClientRun.run(options) { client, output in
            if let promptID {
                let (entry, answer) = try await client.historyEntry(promptID)
                if json { return output.json(answer) }
                let fleet = await client.fleetNodeNames()
                return output.lines(HistoryView.detail(id: promptID, entry: entry, fleet: fleet, server: client.server))
            }
            let (entries, answer) = try await client.history(limit: limit == 0 ? nil : limit, offset: offset)
            if json { return output.json(answer) }
            let fleet = await client.fleetNodeNames()
            output.lines(HistoryView.render(entries, fleet: fleet, width: output.width))
        }
    }
}

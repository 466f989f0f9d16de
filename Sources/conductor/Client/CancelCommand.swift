import ArgumentParser
import ComfyWire
import ConductorClient

/// `conductor cancel`: remove pending prompts (`POST /queue`), clear the queue, or interrupt the running prompt (`POST /interrupt`).
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel prompts: remove waiting ones, interrupt the running one, or clear the queue.",
        discussion:
            "Give prompt ids to cancel those: a waiting prompt is removed, the running one is interrupted. Exit status 1 when an id is neither waiting nor running."
    )

    @OptionGroup var options: ServerOptions

    @Argument(help: "Prompt ids to cancel.")
    var promptIDs: [String] = []

    @Flag(help: "Remove every waiting prompt (the running one goes on).")
    var clear = false

    @Flag(help: "Interrupt the running prompt, whoever queued it.")
    var interrupt = false

    @Flag(help: "Both: clear the queue and interrupt the running prompt.")
    var all = false

    func validate() throws {
        if promptIDs.isEmpty && !clear && !interrupt && !all {
            throw ValidationError("Name prompt ids to cancel, or use --clear, --interrupt or --all. `conductor queue` lists the prompts.")
        }
    }

    func run() async throws {
        try await ClientRun.run(options) { client, output in
            var missing: [String] = []
            if !promptIDs.isEmpty {
                let plan = Cancellation(ids: promptIDs, queue: try await client.queue().status)
                if !plan.pending.isEmpty {
                    try await client.deletePending(plan.pending)
                    output.lines(plan.pending.map { "Removed \($0) from the queue." })
                }
                for id in plan.running {
                    try await client.interrupt(promptID: id)
                    output.line("Interrupted \(id).")
                }
                missing = plan.unknown
            }
            if clear || all {
                let waiting = try await client.queue().status.pending.count
                try await client.clearPending()
                output.line("Cleared the queue (\(waiting) waiting \(waiting == 1 ? "prompt" : "prompts") removed).")
            }
            if interrupt || all {
                let running = try await client.queue().status.running.map(\.promptID)
                try await client.interrupt(promptID: nil)
                output.line(running.isEmpty ? "Nothing was running." : "Interrupted \(running.joined(separator: ", ")).")
            }
            if !missing.isEmpty {
                Output.standardError().line(
                    "Error: \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") neither waiting nor running "
                        + "(finished already? `conductor history ID` shows it).")
                throw ExitCode.failure
            }
        }
    }
}

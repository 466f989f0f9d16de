import ArgumentParser
import ComfyWire
import ConductorClient
import Foundation

/// `conductor watch`: the server's WebSocket events as they happen, one readable line each.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Stream the server's events live: queue changes, prompts starting, progress, outputs, results.",
        discussion: """
            Without --client-id you see what the server sends everyone: queue changes, and progress of prompts \
            queued without a client id. With --client-id you see everything about that client's prompts. \
            On a single ComfyUI, do not follow a client id that a live program (e.g. the web page) is using: \
            ComfyUI then sends that program's events only here. Stop with Ctrl-C.
            """)

    @OptionGroup var options: ServerOptions

    @Option(help: "Follow the prompts of this client id.")
    var clientID: String?

    @Flag(help: "Print each event as one line of JSON (JSON Lines).") var json = false

    func run() async throws {
        try await ClientRun.run(options) { client, output in
            try await client.withEvents(clientID: clientID) { session in
                if !json { output.line("Watching \(client.server) as client \(session.sid). Ctrl-C stops.") }
                var feed = EventFeed(isTerminal: output.isTerminal)
                var transient = false
                let clock = DateFormatter()
                clock.dateFormat = "HH:mm:ss"
                while let event = await session.next() {
                    if json {
                        output.json(event.json)
                        continue
                    }
                    await learnPrompts(for: event, feed: &feed, client: client)
                    for line in feed.lines(for: event, time: clock.string(from: Date())) {
                        switch line {
                        case .permanent(let text):
                            output.write((transient ? "\r\u{1B}[2K" : "") + text + "\n")
                            transient = false
                        case .transient(let text):
                            output.write("\r\u{1B}[2K" + TextWidth.truncate(text, to: max(20, (output.width ?? 80) - 1)))
                            transient = true
                        }
                    }
                }
                if transient { output.write("\n") }
                throw ClientError.unreachable(server: client.server.description, reason: "the server closed the WebSocket")
            }
        }
    }

    /// Learns the graphs of new prompts (for node titles) when the queue grows or an unknown prompt starts.
    func learnPrompts(for event: ServerEvent, feed: inout EventFeed, client: ComfyClient) async {
        let unknown: String?
        switch event {
        case .message(.status(let remaining, _)) where remaining > 0: unknown = nil
        case .message(.executionStart(let id, _)) where !feed.knows(id): unknown = id
        default: return
        }
        if let queue = try? await client.queue().status {
            for item in queue.running + queue.pending where !feed.knows(item.promptID) {
                if let workflow = try? Workflow(json: item.prompt, source: "queue") { feed.learn(promptID: item.promptID, workflow: workflow) }
            }
        }
        if let unknown, !feed.knows(unknown), let entry = try? await client.historyEntry(unknown).entry,
            let workflow = try? Workflow(json: entry.prompt.prompt, source: "history")
        {
            feed.learn(promptID: unknown, workflow: workflow)
        }
    }
}

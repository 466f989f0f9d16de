import ArgumentParser
import ComfyWire
import ConductorClient
import Foundation

/// `conductor submit FILE`: queue an API-format workflow (`POST /prompt`), edited on the way, and
/// with `--wait` follow it live and save its outputs.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Queue a workflow (API format), optionally edited, and with --wait follow it and save its outputs.",
        discussion: """
            NODE in --set and --randomize-node is a node id, a node title (_meta.title), or a class that \
            appears once. The value takes the type of the input's current value.

            Exit status: 0 when every prompt was queued (and with --wait, succeeded); 1 when the server \
            rejected the workflow or a prompt failed or was interrupted; 64 for a bad command line or \
            workflow file; 69 when the server cannot be reached.
            """)

    @OptionGroup var options: ServerOptions

    @Argument(help: ArgumentHelp("The workflow: API-format JSON, or a whole /prompt body (- reads standard input).", valueName: "workflow.json"))
    var file: String

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp("Set an input: 6.text=\"a cat\", \"Positive Prompt.text=a cat\", KSampler.steps=20.", valueName: "node.input=value"))
    var assignments: [String] = []

    @Flag(help: "Give every seed and noise_seed input a new random value.")
    var randomize = false

    @Option(help: ArgumentHelp("Give only this node's seed a new random value (repeatable).", valueName: "node"))
    var randomizeNode: [String] = []

    @Option(help: "Queue N variants, each with new random seeds.")
    var count = 1

    @Flag(help: "Jump the queue: run before the prompts already waiting.")
    var front = false

    @Option(parsing: .unconditional, help: "Queue at this priority number (lower runs first, negative allowed) instead of at the end.")
    var number: String?

    @Option(help: "The client id that receives the prompt's events (default: the file's client_id, else a new one; a new one with --wait).")
    var clientID: String?

    @Flag(help: "Follow the prompt until it ends: a progress bar per sampling node, outputs saved as they arrive.")
    var wait = false

    @Option(help: ArgumentHelp("With --wait, save outputs here (server subfolders are kept).", valueName: "dir"))
    var outputDir = "."

    @Flag(help: "With --wait, print the outputs' /view URLs instead of downloading them.")
    var noSave = false

    @Flag(help: "Print the server's JSON answers (and with --wait, one summary per prompt).")
    var json = false

    func validate() throws {
        if front && number != nil { throw ValidationError("--front and --number exclude each other: the server ignores front when number is set.") }
        if count < 1 { throw ValidationError("--count must be 1 or more.") }
        if let number, Double(number) == nil { throw ValidationError("--number must be a number, got \(number).") }
        if randomize && !randomizeNode.isEmpty { throw ValidationError("Use --randomize (every seed) or --randomize-node (chosen nodes), not both.") }
    }

    func run() async throws {
        try await ClientRun.run(options) { client, output in
            var submission = Submission(workflow: try Workflow.load(path: file))
            submission.assignments = try assignments.map { text throws(ClientError) in try InputAssignment(parsing: text) }
            submission.seeds = randomize ? .all : (randomizeNode.isEmpty ? .keep : .nodes(randomizeNode))
            submission.count = count
            submission.front = front
            submission.number = number.map { JSONNumber(literal: $0.trimmingCharacters(in: .whitespaces)) }
            submission.clientID = clientID
            submission.wait = wait
            submission.outputDirectory = noSave ? nil : URL(fileURLWithPath: outputDir, isDirectory: true)
            submission.json = json
            var generator = SystemRandomNumberGenerator()
            let succeeded = try await submission.run(client: client, output: output, errors: .standardError(), generator: &generator)
            if !succeeded { throw ExitCode.failure }
        }
    }
}

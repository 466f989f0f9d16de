import ComfyWire
import Foundation

/// Everything `conductor submit` does: edit the workflow, queue one or more variants, and with
/// `wait` follow them to the end, saving each output file the moment its node reports it.
public struct Submission: Sendable {
    /// Which seeds get new random values.
    public enum Seeds: Sendable, Hashable {
        case keep
        case all
        /// The seeds of these nodes (ids, titles or classes).
        case nodes([String])
    }

    public var workflow: Workflow
    public var assignments: [InputAssignment] = []
    public var seeds: Seeds = .keep
    /// How many variants to queue; more than one randomises every seed unless `seeds` names nodes.
    public var count = 1
    public var front = false
    public var number: JSONNumber?
    public var clientID: String?
    public var wait = false
    /// Where `wait` saves outputs; nil prints their `/view` URLs instead.
    public var outputDirectory: URL?
    /// Print the server's JSON answers instead of text.
    public var json = false

    public init(workflow: Workflow) { self.workflow = workflow }

    /// Runs the submission. Returns true when every prompt was queued (and, with `wait`, succeeded).
    public func run(
        client: ComfyClient, output: Output, errors: Output, generator: inout some RandomNumberGenerator
    ) async throws -> Bool {
        var edited = workflow
        for assignment in assignments { try edited.apply(assignment) }
        let seedChoice: Seeds = seeds == .keep && count > 1 ? .all : seeds
        var variants: [(workflow: Workflow, seeds: [Workflow.SeedChange])] = []
        for _ in 0..<max(1, count) {
            var variant = edited
            var changes: [Workflow.SeedChange] = []
            switch seedChoice {
            case .keep: break
            case .all: changes = try variant.randomizeSeeds(using: &generator)
            case .nodes(let targets): changes = try variant.randomizeSeeds(only: targets, using: &generator)
            }
            variants.append((variant, changes))
        }
        if seedChoice == .all, variants.first?.seeds.isEmpty == true {
            errors.line("warning: the workflow has no seed or noise_seed input to randomise\(count > 1 ? "; the variants are identical" : "").")
        }
        // Waiting makes this process the client: a fresh id, so it never takes the events of a program
        // that uses the file's client_id (the server sends them to the last socket with that id).
        let clientID = clientID ?? (wait ? nil : workflow.clientID) ?? "conductor-cli-" + UUID().uuidString.prefix(8).lowercased()
        let requests = variants.map { variant in
            PromptRequest(prompt: variant.workflow.prompt, clientID: clientID, front: front, number: number, extraData: workflow.extraData)
        }
        guard wait else {
            for (index, request) in requests.enumerated() {
                let result = try await client.submit(request, workflow: variants[index].workflow)
                report(result, seeds: variants[index].seeds, variant: variantName(index), output: output, errors: errors)
            }
            if !json && count == 1 {
                output.line("Follow it with `conductor watch --client-id \(clientID)`; see the result with `conductor history`.")
            }
            return true
        }
        return try await client.withEvents(clientID: clientID) { session in
            var tracker = JobTracker(workflow: edited)
            var display = JobDisplay(output: output)
            for (index, request) in requests.enumerated() {
                let result = try await client.submit(request, workflow: variants[index].workflow)
                tracker.follow(promptID: result.promptID, variant: variantName(index))
                if json {
                    output.json(result.json)
                } else {
                    var lines = ["Queued \(result.promptID)\(variantName(index).isEmpty ? "" : " [\(variantName(index))]") (number \(result.number))"]
                    if !variants[index].seeds.isEmpty { lines.append("  seeds: " + Self.seedText(variants[index].seeds)) }
                    display.note(lines)
                }
                warnAboutSkippedOutputs(result, workflow: variants[index].workflow, errors: errors)
            }
            if !json { display.refresh(tracker) }
            var saved: [URL] = []
            func apply(_ changes: [JobTracker.Change]) async throws {
                for change in changes {
                    switch change {
                    case .updated:
                        if !json { display.refresh(tracker) }
                    case .outputs(_, let files):
                        for file in files {
                            if let outputDirectory {
                                let bytes = try await client.download(file)
                                let path = try OutputFolder(directory: outputDirectory).save(file, bytes: bytes)
                                saved.append(path)
                                if !json { display.note(["Saved \(Self.relative(path))"]) }
                            } else if !json {
                                display.note(["Output \(file.path): \(client.viewURL(file))"])
                            }
                        }
                    case .finished(let id):
                        guard let job = tracker.job(id) else { continue }
                        if json {
                            output.json(Self.summary(job, client: client))
                        } else {
                            display.finished(job, tracker: tracker)
                        }
                    }
                }
            }
            while !tracker.allFinished, let event = await session.next() {
                guard case .message(let message) = event else { continue }
                try await apply(tracker.handle(message))
            }
            // The socket closed first: the history has the outcome once each prompt is done.
            for job in tracker.jobs where !job.state.isFinal {
                if !json { display.note(["The event stream closed; waiting for \(job.shortName) in the history…"]) }
                while true {
                    do {
                        let (entry, _) = try await client.historyEntry(job.promptID)
                        try await apply(tracker.handle(history: entry, promptID: job.promptID))
                        break
                    } catch ClientError.notFound {
                        try await Task.sleep(for: .milliseconds(500))
                    }
                }
            }
            if !json, tracker.jobs.count > 1 || !saved.isEmpty {
                let good = tracker.jobs.filter { $0.state == .succeeded }.count
                var parts: [String] = []
                if tracker.jobs.count > 1 { parts.append("\(good) of \(tracker.jobs.count) prompts succeeded") }
                if let outputDirectory {
                    parts.append("\(saved.count) \(saved.count == 1 ? "file" : "files") saved in \(Self.relative(outputDirectory))")
                }
                display.note([parts.joined(separator: "; ")])
            }
            return tracker.succeeded
        }
    }

    func variantName(_ index: Int) -> String { count > 1 ? "\(index + 1)/\(count)" : "" }

    func report(_ result: SubmitResult, seeds: [Workflow.SeedChange], variant: String, output: Output, errors: Output) {
        if json {
            output.json(result.json)
        } else {
            output.line("Queued \(result.promptID)\(variant.isEmpty ? "" : " [\(variant)]") (number \(result.number))")
            if !seeds.isEmpty { output.line("  seeds: " + Self.seedText(seeds)) }
        }
        warnAboutSkippedOutputs(result, workflow: workflow, errors: errors)
    }

    /// ComfyUI answers 200 when some outputs validate; the others are dropped silently unless told.
    func warnAboutSkippedOutputs(_ result: SubmitResult, workflow: Workflow, errors: Output) {
        guard !result.nodeErrors.isEmpty else { return }
        let rejection = PromptRejection(
            json: ["error": ["message": "some outputs failed validation"], "node_errors": .object(result.nodeErrors)],
            workflow: workflow, server: "")
        errors.line("warning: the server runs this prompt without the outputs that failed validation:")
        for problem in rejection.problems {
            errors.line(
                "  node \(problem.nodeLabel): " + (problem.input.map { "\($0): " } ?? "") + problem.message
                    + (problem.details.isEmpty ? "" : " — \(problem.details)"))
        }
    }

    static func seedText(_ changes: [Workflow.SeedChange]) -> String {
        changes.map { "\($0.nodeID).\($0.input)=\($0.value)" }.joined(separator: " ")
    }

    /// A path relative to the current directory when it is under it.
    static func relative(_ url: URL) -> String {
        let current = FileManager.default.currentDirectoryPath
        let path = url.standardizedFileURL.path
        if path == current { return "." }
        return path.hasPrefix(current + "/") ? String(path.dropFirst(current.count + 1)) : path
    }

    /// `{"prompt_id", "status", "outputs": [{"filename", "subfolder", "type", "url"}]}` for `--json --wait`.
    static func summary(_ job: JobTracker.Job, client: ComfyClient) -> JSONValue {
        let status: String
        var object: JSONObject = ["prompt_id": .string(job.promptID)]
        switch job.state {
        case .succeeded: status = "success"
        case .failed(let reason):
            status = "failed"
            object["error"] = .string(reason)
        case .interrupted(let node):
            status = "interrupted"
            object["error"] = .string("interrupted at \(node)")
        case .queued, .running: status = "unknown"
        }
        object["status"] = .string(status)
        object["outputs"] = .array(
            job.files.map { file in
                [
                    "node": .string(file.nodeID), "filename": .string(file.filename), "subfolder": .string(file.subfolder),
                    "type": .string(file.type), "url": .string(client.viewURL(file))
                ]
            })
        return .object(object)
    }
}

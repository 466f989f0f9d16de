import ArgumentParser
import ConductorClient

/// `conductor models [FOLDER]`: the model folders (`GET /models`), or one folder's files (`GET /models/{folder}`).
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the model folders, or the models in one (checkpoints, loras, vae, …).")

    @OptionGroup var options: ServerOptions

    @Argument(help: "A model folder, e.g. checkpoints or loras.")
    var folder: String?

    @Flag(help: "Print the server's JSON answer.") var json = false

    func run() async throws {
        try await ClientRun.run(options) { client, output in
            guard let folder else {
                let (folders, answer) = try await client.modelFolders()
                if json { return output.json(answer) }
                return output.lines(folders + ["\(folders.count) folders; `conductor models FOLDER` lists one."])
            }
            let (files, answer) = try await client.models(in: folder)
            if json { return output.json(answer) }
            output.lines(files.isEmpty ? ["No models in \(folder)."] : files)
        }
    }
}

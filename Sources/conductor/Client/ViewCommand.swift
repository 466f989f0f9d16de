import ArgumentParser
import ComfyWire
import ConductorClient
import Foundation

/// `conductor view FILE`: the `/view` URL of a file, or the file itself; `--prompt ID` does it for all of a prompt's outputs.
struct ViewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract: "Print the /view URL of an input or output file, or download it.",
        discussion: "FILE may carry its subfolder and type as ComfyUI writes them: \"sub/name.png\", \"name.png [input]\".")

    @OptionGroup var options: ServerOptions

    @Argument(help: ArgumentHelp("The file name, as history or upload printed it.", valueName: "file"))
    var file: String?

    @Option(help: "Every output of this prompt instead of one file.")
    var prompt: String?

    @Option(help: "output (default), input or temp.")
    var type: String?

    @Option(help: "The file's subfolder.")
    var subfolder: String?

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("Download to this file or directory.", valueName: "path"))
    var destination: String?

    @Flag(help: "Print JSON (filename, subfolder, type, url) instead of text.") var json = false

    func validate() throws {
        if (file == nil) == (prompt == nil) { throw ValidationError("Name a file, or a prompt with --prompt ID.") }
        if let type, !["input", "temp", "output"].contains(type) { throw ValidationError("--type must be output, input or temp.") }
    }

    func run() async throws {
        try await ClientRun.run(options) { client, output in
            var files: [OutputFile]
            if let prompt {
                files = OutputFile.all(in: try await client.historyEntry(prompt).entry.outputs)
                if files.isEmpty { throw ClientError.notFound("Prompt \(prompt) has no output files.") }
            } else {
                let reference = FileReference(parsing: file ?? "")
                let kind = reference.annotation?.rawValue ?? type ?? "output"
                files = [OutputFile(nodeID: "", filename: reference.filename, subfolder: subfolder ?? reference.subfolder, type: kind)]
            }
            for file in files {
                let url = client.viewURL(file)
                guard let destination else {
                    if json {
                        output.json([
                            "filename": .string(file.filename), "subfolder": .string(file.subfolder), "type": .string(file.type), "url": .string(url)
                        ])
                    } else {
                        output.line(url)
                    }
                    continue
                }
                let bytes = try await client.download(file)
                let target = Self.target(destination, file: file, many: prompt != nil)
                do {
                    try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Data(bytes).write(to: target)
                } catch {
                    throw ClientError.usage("Cannot write \(target.path): \((error as NSError).localizedDescription)")
                }
                if json {
                    output.json([
                        "filename": .string(file.filename), "subfolder": .string(file.subfolder), "type": .string(file.type),
                        "url": .string(url), "saved": .string(target.path), "bytes": .int(bytes.count)
                    ])
                } else {
                    output.line("Saved \(file.path) (\(bytes.count) bytes) to \(target.path)")
                }
            }
        }
    }

    /// A directory (existing, or ending in `/`, or for a prompt's outputs) receives the file under its own name.
    static func target(_ destination: String, file: OutputFile, many: Bool) -> URL {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: destination, isDirectory: &isDirectory)
        if many || destination.hasSuffix("/") || (exists && isDirectory.boolValue) {
            return URL(fileURLWithPath: destination, isDirectory: true).appendingPathComponent(file.filename)
        }
        return URL(fileURLWithPath: destination)
    }
}

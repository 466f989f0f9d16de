import ArgumentParser
import ComfyWire
import ConductorClient
import Foundation

/// `conductor upload FILE`: an image (`POST /upload/image`) or a mask for an image already there (`POST /upload/mask`).
struct UploadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload an image, or a mask for an image already on the server.",
        discussion: "Prints the name the server stored it under (it may add \" (1)\" when the name is taken) and the value to give a LoadImage input."
    )

    @OptionGroup var options: ServerOptions

    @Argument(help: ArgumentHelp("The image or mask file.", valueName: "file"))
    var file: String

    @Option(help: "Store it under this name (default: the file's name).")
    var name: String?

    @Option(help: "Where it goes: input, temp or output.")
    var type = "input"

    @Option(help: "A subfolder of that directory, e.g. pasted.")
    var subfolder = ""

    @Flag(help: "Replace a file of the same name instead of storing a renamed copy.")
    var overwrite = false

    @Option(
        help: ArgumentHelp(
            "Upload a mask for this image, e.g. \"photo.png\" or \"clipspace/photo.png [input]\" (without a [type], input): its alpha channel becomes the mask's.",
            valueName: "image"))
    var maskFor: String?

    @Flag(help: "Print the server's JSON answer.") var json = false

    func validate() throws {
        guard ["input", "temp", "output"].contains(type) else { throw ValidationError("--type must be input, temp or output.") }
    }

    func run() async throws {
        try await ClientRun.run(options) { client, output in
            let url = URL(fileURLWithPath: file)
            let bytes: [UInt8]
            do {
                bytes = Array(try Data(contentsOf: url))
            } catch {
                throw ClientError.usage("Cannot read \(file): \((error as NSError).localizedDescription)")
            }
            var request = UploadRequest(filename: name ?? url.lastPathComponent, bytes: bytes, type: type, subfolder: subfolder, overwrite: overwrite)
            if let maskFor {
                let reference = FileReference(parsing: maskFor)
                request.maskFor = OutputFile(
                    nodeID: "", filename: reference.filename, subfolder: reference.subfolder,
                    type: reference.kind(default: .input).rawValue)
            }
            let result = try await client.upload(request)
            if json { return output.json(result.json) }
            let path = result.subfolder.isEmpty ? result.name : "\(result.subfolder)/\(result.name)"
            output.line("Uploaded \(url.lastPathComponent)\(maskFor.map { " as the mask of \($0)" } ?? "") to \(result.type)/\(path)")
            output.line("In a workflow: \"\(result.inputValue)\"  (e.g. --set \"LoadImage.image=\(result.inputValue)\")")
        }
    }
}

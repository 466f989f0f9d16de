import Foundation

/// A local folder that receives a job's outputs, mirroring the server's subfolders (Conductor puts
/// each GPU node's files under the node's name) and never overwriting a file already there.
public struct OutputFolder: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// Writes the file and returns where it went: `dir/sub/name.png`, or `dir/sub/name (1).png` when taken.
    public func save(_ file: OutputFile, bytes: [UInt8]) throws(ClientError) -> URL {
        let parts = file.subfolder.split(separator: "/").map(String.init).filter { !$0.isEmpty && $0 != "." && $0 != ".." }
        let folder = parts.reduce(directory) { $0.appendingPathComponent($1, isDirectory: true) }
        let name = (file.filename as NSString).lastPathComponent
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let target = Self.freeName(name, in: folder)
            try Data(bytes).write(to: target, options: .withoutOverwriting)
            return target
        } catch {
            throw .usage("Cannot save \(name) in \(folder.path): \((error as NSError).localizedDescription)")
        }
    }

    /// `name.png`, else `name (1).png`, `name (2).png`… — the first that does not exist.
    static func freeName(_ name: String, in folder: URL) -> URL {
        let stem = (name as NSString).deletingPathExtension
        let ext = (name as NSString).pathExtension
        var candidate = folder.appendingPathComponent(name)
        var counter = 1
        while FileManager.default.fileExists(atPath: candidate.path) {
            candidate = folder.appendingPathComponent("\(stem) (\(counter))" + (ext.isEmpty ? "" : ".\(ext)"))
            counter += 1
        }
        return candidate
    }
}

import ComfyWire
import Foundation

/// A node's own input/output/temp directories, with ComfyUI's naming, collision and path rules.
public struct FileStore: Sendable {
    public let root: URL

    public enum PathError: Error, Equatable {
        /// A name or subfolder that would leave its directory (400 on upload and /view filename).
        case invalidName
        /// A `/view` subfolder that escapes its directory (403).
        case escapesDirectory
        case unknownType
    }

    public init(root: URL) throws {
        self.root = root.standardizedFileURL
        for kind in FileReference.Kind.allCases {
            try FileManager.default.createDirectory(at: directory(kind), withIntermediateDirectories: true)
        }
    }

    public func directory(_ kind: FileReference.Kind) -> URL { root.appendingPathComponent(kind.rawValue, isDirectory: true) }

    /// Resolves `subfolder/filename` under a root, refusing anything that escapes it.
    public func resolve(_ kind: FileReference.Kind, subfolder: String, filename: String) throws(PathError) -> URL {
        guard Self.isPlainName(filename) else { throw .invalidName }
        let base = directory(kind).standardizedFileURL.path
        let folder = try resolveFolder(kind, subfolder: subfolder)
        let url = folder.appendingPathComponent(filename).standardizedFileURL
        guard url.path.hasPrefix(base + "/"), Self.staysInside(url, directory(kind)) else { throw .escapesDirectory }
        return url
    }

    /// Whether a path, its symlinks followed, is still inside a directory (its symlinks followed too).
    static func staysInside(_ url: URL, _ directory: URL) -> Bool {
        let real = url.resolvingSymlinksInPath().path, base = directory.resolvingSymlinksInPath().path
        return real == base || real.hasPrefix(base + "/")
    }

    public func resolveFolder(_ kind: FileReference.Kind, subfolder: String) throws(PathError) -> URL {
        guard !subfolder.contains("\0"), !subfolder.contains("\\"), !subfolder.hasPrefix("/") else { throw .escapesDirectory }
        let base = directory(kind).standardizedFileURL
        let url = (subfolder.isEmpty ? base : base.appendingPathComponent(subfolder, isDirectory: true)).standardizedFileURL
        guard url.path == base.path || url.path.hasPrefix(base.path + "/"), Self.staysInside(url, base) else { throw .escapesDirectory }
        return url
    }

    /// A single path component with no separators, traversal or NUL.
    static func isPlainName(_ name: String) -> Bool { UploadNaming.isPlainName(name) }

    /// Whether a node input such as `"sub/x.png [input]"` names an existing file (unannotated = input).
    public func exists(reference value: String) -> Bool {
        let ref = FileReference(parsing: value)
        guard let url = try? resolve(ref.kind(default: .input), subfolder: ref.subfolder, filename: ref.filename) else {
            return false
        }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    public func read(reference value: String) throws -> Data {
        let ref = FileReference(parsing: value)
        return try Data(contentsOf: resolve(ref.kind(default: .input), subfolder: ref.subfolder, filename: ref.filename))
    }

    /// Stores an upload as ComfyUI's `/upload/image` does and returns the name it ended up under:
    /// the same bytes reuse the existing name, other bytes get `name (n).ext`, `overwrite` replaces.
    public func upload(_ bytes: Data, filename: String, subfolder: String, kind: FileReference.Kind, overwrite: Bool) throws -> String {
        guard Self.isPlainName(filename) else { throw PathError.invalidName }
        let folder = try resolveFolder(kind, subfolder: subfolder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var name = filename
        if !overwrite {
            var n = 1
            while true {
                let candidate = folder.appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: candidate.path) else { break }
                if (try? Data(contentsOf: candidate)) == bytes { return name }
                name = UploadNaming.candidate(filename, n)
                n += 1
            }
        }
        try write(bytes, to: folder.appendingPathComponent(name))
        return name
    }

    /// Writes through a temporary file and a rename, so no reader ever sees half a file.
    public func write(_ bytes: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).part")
        try bytes.write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path, "errno": code])
        }
    }

    /// Top-level image files of the input directory, sorted, as LoadImage's combo lists them.
    public func inputImages() -> [String] {
        let extensions: Set<String> = ["png", "jpg", "jpeg", "webp", "gif", "bmp", "tiff", "tif"]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory(.input).path)) ?? []
        return names.filter { name in
            !name.hasPrefix(".") && extensions.contains((name as NSString).pathExtension.lowercased())
                && !isDirectory(directory(.input).appendingPathComponent(name))
        }.sorted()
    }

    /// Every top-level file of the input directory, sorted (LoadLatent filters these by suffix).
    public func inputFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory(.input).path)) ?? []
        return names.filter { !$0.hasPrefix(".") && !isDirectory(directory(.input).appendingPathComponent($0)) }
            .sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    func isDirectory(_ url: URL) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &flag) && flag.boolValue
    }

    /// SaveImage's counter: one more than the highest `<prefix>_NNNNN_` already in the folder.
    public func nextCounter(folder: URL, prefix: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var highest = 0
        for name in names where name.hasPrefix(prefix + "_") {
            let rest = name.dropFirst(prefix.count + 1)
            let digits = rest.prefix { $0.isNumber }
            if digits.count == 5, rest.dropFirst(5).hasPrefix("_"), let n = Int(digits) { highest = max(highest, n) }
        }
        return highest + 1
    }

    /// Deletes the temp directory's contents, as ComfyUI does at start-up.
    public func clearTemp() {
        let temp = directory(.temp)
        try? FileManager.default.removeItem(at: temp)
        try? FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }
}

import ComfyWire
import ConductorCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/upload/image`, `/upload/mask` and `/view` over Conductor's store: the whole fleet answers as one ComfyUI
/// server would (comfyui-api.md §2.9).
struct FileRoutes {
    let coordinator: Coordinator
    let maxUploadBytes: Int64

    static func text(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: message)))
    }

    /// Types a browser would run (SVG, HTML, XML, scripts) are served as attachments, and no type is sniffed: an
    /// uploaded file can never act as a page of Conductor's origin.
    static func protect(_ headers: inout HTTPFields, filename: String) {
        let quoted = filename.replacingOccurrences(of: "\"", with: "%22")
        let active = ["svg", "svgz", "html", "htm", "xhtml", "xml", "js", "mjs", "css"]
        let ext = filename.split(separator: ".").count > 1 ? String(filename.split(separator: ".").last!).lowercased() : ""
        headers[.contentDisposition] = active.contains(ext) ? "attachment; filename=\"\(quoted)\"" : "filename=\"\(quoted)\""
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
    }

    func tooLarge() -> Response {
        Self.text(.contentTooLarge, "Maximum request body size \(maxUploadBytes) exceeded")
    }

    func upload(_ request: Request, mask: Bool) async -> Response {
        // Multipart framing adds a few hundred bytes to the file; anything far beyond the limit is refused unread.
        if let length = request.headers[.contentLength].flatMap({ Int64($0) }), length > maxUploadBytes + 1 << 20 {
            return tooLarge()
        }
        let files = coordinator.files
        let form: UploadForm
        do {
            form = try await UploadForm.read(
                request.body, contentType: request.headers[.contentType] ?? "",
                limit: maxUploadBytes, store: files)
        } catch UploadForm.Failure.tooLarge {
            return tooLarge()
        } catch UploadForm.Failure.malformed(let problem) {
            return Self.text(.badRequest, "Malformed upload: \(problem)")
        } catch {
            return Self.text(.badRequest, "Malformed upload")
        }
        guard let file = form.file else { return Self.text(.badRequest, "No file in the form's 'image' field") }
        // Every check comes before the blob enters the store: a refused upload leaves nothing behind.
        func refuse(_ message: String) -> Response {
            file.writer.abort()
            return Self.text(.badRequest, message)
        }
        guard !file.filename.isEmpty else { return refuse("The 'image' field has no file name") }
        guard !mask || file.writer.size > 0 else { return refuse("The mask is empty") }
        guard UploadNaming.isPlainName(file.filename) else {
            return refuse("Invalid file name '\(file.filename)': it must be one name, without '/', '\\', '..' or NUL")
        }
        let typeName = form.fields["type"] ?? "input"
        guard let kind = FileReference.Kind(rawValue: typeName) else { return refuse("Invalid type '\(typeName)': use input, temp or output") }
        let sentSubfolder = form.fields["subfolder"] ?? ""
        guard let subfolder = UploadNaming.normalizedSubfolder(sentSubfolder) else {
            return refuse("Invalid subfolder '\(sentSubfolder)': it leaves the \(typeName) directory")
        }
        let nodeNames = await coordinator.nodeNames
        if kind != .input, OutputNames.resolve(subfolder: subfolder, nodes: nodeNames) != nil {
            return refuse("Invalid subfolder '\(sentSubfolder)': \(typeName) subfolders named after a node hold that node's files")
        }
        var originalRef: JSONValue?
        if mask {
            guard let text = form.fields["original_ref"], let parsed = try? JSONValue(parsing: text), case .object = parsed else {
                return refuse("original_ref must be a JSON object {\"filename\", \"subfolder\", \"type\"}")
            }
            originalRef = parsed
        }
        let overwrite = ["true", "1"].contains(form.fields["overwrite"] ?? "")
        var blob: Blob
        do {
            blob = try files.adopt(file.writer)
        } catch {
            file.writer.abort()
            return ConductorRoutes.internalError()
        }
        if let originalRef {
            let result = await coordinator.composeMask(blob, originalRef: originalRef)
            files.dropIfUnnamed(blob.hash)
            switch result {
            case .composed(let composed):
                blob = composed
            case .originalMissing:
                // As ComfyUI: 200 with the name it would have used, nothing written.
                return ConductorRoutes.json(["name": .string(file.filename), "subfolder": .string(sentSubfolder), "type": .string(typeName)])
            case .failed(let problem):
                return Self.text(.serviceUnavailable, problem)
            }
        }
        let name: String
        do {
            name = try await files.claim(blob, filename: file.filename, subfolder: subfolder, kind: kind, overwrite: overwrite)
        } catch {
            files.dropIfUnnamed(blob.hash)
            return ConductorRoutes.internalError()
        }
        await coordinator.enforceStoreRetention()
        if kind == .input, subfolder.isEmpty {
            // A new extension: the nodes' lists of their input folders are probed for it (see Coordinator+InputFolders).
            let coordinator = self.coordinator
            Task { await coordinator.probeInputFolders() }
        }
        return ConductorRoutes.json(["name": .string(name), "subfolder": .string(sentSubfolder), "type": .string(typeName)])
    }

    /// `GET /view`: ComfyUI's checks, then a file of the store streamed from disk, or a node's file streamed
    /// through from the node named by the subfolder.
    func view(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        guard var filename = query.get("filename") else { return Response(status: .notFound) }
        var typeName = query.get("type") ?? "output"
        let reference = FileReference(parsing: filename)
        if let annotation = reference.annotation {
            typeName = annotation.rawValue
            filename = reference.path
        }
        if filename.hasPrefix("/") || filename.contains("..") || filename.contains("\0") { return Response(status: .badRequest) }
        filename = String(filename.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        guard let kind = FileReference.Kind(rawValue: typeName) else { return Response(status: .badRequest) }
        let subfolder = query.get("subfolder") ?? ""
        guard UploadNaming.normalizedSubfolder(subfolder) != nil else { return Response(status: .forbidden) }
        let files = coordinator.files
        guard let stored = files.file(kind, subfolder: subfolder, name: filename),
            let handle = try? FileHandle(forReadingFrom: files.blobURL(stored.hash))
        else {
            return try await FleetProxy(coordinator: coordinator).view(request)
        }
        await files.touch([stored.hash])
        var headers: HTTPFields = [.contentType: MediaType.of(filename: filename), .contentLength: String(stored.size)]
        Self.protect(&headers, filename: filename)
        let body = ResponseBody { writer in
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 256 * 1024), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

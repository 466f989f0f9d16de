import ComfyWire
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension SimulatedNodeRoutes {
    /// `POST /upload/image` and `/upload/mask` (comfyui-api.md §2.9).
    static func upload(_ request: Request, node: SimulatedNode, mask: Bool) async -> Response {
        let limit = node.profile.maxUploadBytes
        let form: MultipartForm
        do {
            let body = try await request.body.collect(upTo: limit)
            form = try MultipartForm(body: body, contentType: request.headers[.contentType] ?? "")
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return tooLarge(limit)
        } catch {
            return internalError()
        }
        guard let image = form.first(named: "image"), let filename = image.filename, !filename.isEmpty,
            image.body.readableBytes > 0 || !mask
        else { return empty(.badRequest) }
        let typeName = form.string("type") ?? "input"
        guard let kind = FileReference.Kind(rawValue: typeName) else { return internalError() }
        let subfolder = form.string("subfolder") ?? ""
        let overwrite = ["true", "1"].contains(form.string("overwrite") ?? "")
        var bytes = Data(image.body.readableBytesView)
        if mask {
            guard let refText = form.string("original_ref") else { return internalError() }
            guard let ref = try? JSONValue(parsing: refText), case .object = ref else { return internalError() }
            let original = FileReference(parsing: ref["filename"]?.stringValue ?? "")
            let originalKind = original.annotation ?? FileReference.Kind(rawValue: ref["type"]?.stringValue ?? "output") ?? .output
            let originalSubfolder = ref["subfolder"]?.stringValue ?? ""
            guard let url = try? node.files.resolve(originalKind, subfolder: originalSubfolder, filename: original.filename),
                let originalBytes = try? Data(contentsOf: url), let composed = composeMask(original: originalBytes, mask: bytes)
            else {
                // ComfyUI answers 200 with the computed name and writes nothing when the original is missing.
                return json(["name": .string(filename), "subfolder": .string(subfolder), "type": .string(typeName)])
            }
            bytes = composed
        }
        do {
            let name = try node.files.upload(bytes, filename: filename, subfolder: subfolder, kind: kind, overwrite: overwrite)
            return json(["name": .string(name), "subfolder": .string(subfolder), "type": .string(typeName)])
        } catch {
            return empty(.badRequest)
        }
    }

    /// The original image with the mask's alpha as its alpha channel, as `/upload/mask` stores it.
    static func composeMask(original: Data, mask: Data) -> Data? {
        guard let image = try? PNG.decode(Array(original)), let maskImage = try? PNG.decode(Array(mask)) else { return nil }
        // PIL's mask.convert('RGBA').getchannel('A'): a mask without alpha is fully opaque.
        let alpha = maskImage.channel(3)
        let rgb = image.rgb
        var pixels = [UInt8](repeating: 0, count: image.width * image.height * 4)
        for p in 0..<(image.width * image.height) {
            pixels[p * 4] = rgb.pixels[p * 3]
            pixels[p * 4 + 1] = rgb.pixels[p * 3 + 1]
            pixels[p * 4 + 2] = rgb.pixels[p * 3 + 2]
            let x = p % image.width, y = p / image.width
            pixels[p * 4 + 3] = (x < alpha.width && y < alpha.height) ? alpha.pixels[y * alpha.width + x] : 255
        }
        let text = PNG.textChunks(Array(original))
        return Data(PNG.encode(RasterImage(width: image.width, height: image.height, channels: 4, pixels: pixels), text: text))
    }

    /// `GET /view`: ComfyUI's path checks, then the raw file streamed from disk.
    static func view(_ request: Request, node: SimulatedNode) async -> Response {
        let query = request.uri.queryParameters
        guard var filename = query.get("filename") else { return empty(.notFound) }
        var typeName = query.get("type") ?? "output"
        let reference = FileReference(parsing: filename)
        if let annotation = reference.annotation {
            typeName = annotation.rawValue
            filename = reference.path
        }
        if filename.hasPrefix("/") || filename.contains("..") || filename.contains("\0") { return empty(.badRequest) }
        filename = String(filename.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        guard let kind = FileReference.Kind(rawValue: typeName) else { return empty(.badRequest) }
        let subfolder = query.get("subfolder") ?? ""
        let url: URL
        do {
            url = try node.files.resolve(kind, subfolder: subfolder, filename: filename)
        } catch .escapesDirectory {
            return empty(.forbidden)
        } catch {
            return empty(.badRequest)
        }
        guard let handle = try? FileHandle(forReadingFrom: url),
            let size = try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int
        else { return empty(.notFound) }
        var headers: HTTPFields = [.contentType: MediaType.of(filename: filename), .contentLength: String(size)]
        headers[.contentDisposition] = "filename=\"\(filename)\""
        let body = ResponseBody { writer in
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 64 * 1024), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

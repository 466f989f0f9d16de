import ComfyWire
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension SimulatedNodeRoutes {
    /// `/users`, `/settings` and `/userdata` for the single `default` user (comfyui-api.md §2.12): what the
    /// frontend reads at start and writes as the user changes settings and saves workflows.
    static func addUserRoutes(to router: Router<Context>, node: SimulatedNode) {
        let users = node.users
        let limit = node.profile.maxUploadBytes
        func both(_ path: String, _ method: HTTPRequest.Method, _ handler: @escaping @Sendable (Request, Context) async throws -> Response) {
            router.on(RouterPath(path), method: method, use: handler)
            router.on(RouterPath("/api" + path), method: method, use: handler)
        }

        both("/users", .get) { _, _ in json(["storage": "server", "migrated": true]) }
        both("/users", .post) { request, _ in
            switch await readJSON(request, limit: limit) {
            case .failure(let response): return response
            case .success(let body):
                guard let name = body["username"]?.stringValue else { return internalError() }
                guard let id = await users.addUser(name) else { return json(["error": "Duplicate username."], status: .badRequest) }
                return json(.string(id))
            }
        }

        both("/settings", .get) { _, _ in json(.object(await users.settings())) }
        both("/settings/{id}", .get) { _, context in
            json(await users.settings()[context.parameters.get("id") ?? ""] ?? .null)
        }
        both("/settings", .post) { request, _ in
            switch await readJSON(request, limit: limit) {
            case .failure(let response): return response
            case .success(let body):
                guard case .object(let values) = body else { return internalError() }
                try await users.updateSettings(values)
                return empty()
            }
        }
        both("/settings/{id}", .post) { request, context in
            switch await readJSON(request, limit: limit) {
            case .failure(let response): return response
            case .success(let value):
                try await users.updateSettings([decoded(context.parameters.get("id")): value])
                return empty()
            }
        }

        both("/userdata", .get) { request, _ in
            let query = request.uri.queryParameters
            guard let directory = query.get("dir"), !directory.isEmpty else { return text("Directory not provided", .badRequest) }
            do {
                return json(
                    try await users.list(
                        directory: directory, recurse: flag(query.get("recurse")),
                        fullInfo: flag(query.get("full_info")), split: flag(query.get("split"))))
            } catch {
                return error as? UserDirectory.Failure == .notFound
                    ? text("Directory not found", .notFound) : text("Invalid directory", .forbidden)
            }
        }
        both("/v2/userdata", .get) { request, _ in
            do {
                return json(try await users.listTree(path: request.uri.queryParameters.get("path") ?? ""))
            } catch {
                return error as? UserDirectory.Failure == .notFound ? text("Path not found", .notFound) : text("Invalid path", .badRequest)
            }
        }
        both("/userdata/{file}", .get) { _, context in
            do {
                let url = try users.file(decoded(context.parameters.get("file")), existing: true)
                guard let data = try? Data(contentsOf: url) else { return empty(.notFound) }
                return Response(
                    status: .ok, headers: [.contentType: contentType(url.pathExtension)],
                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
            } catch {
                return failure(error)
            }
        }
        both("/userdata/{file}", .post) { request, context in
            let contents: ByteBuffer
            do {
                contents = try await request.body.collect(upTo: limit)
            } catch {
                return tooLarge(limit)
            }
            let query = request.uri.queryParameters
            do {
                return json(
                    try await users.write(
                        decoded(context.parameters.get("file")), contents: Data(contents.readableBytesView),
                        overwrite: query.get("overwrite") != "false", fullInfo: flag(query.get("full_info"))))
            } catch {
                return failure(error)
            }
        }
        both("/userdata/{file}", .delete) { _, context in
            do {
                try await users.delete(decoded(context.parameters.get("file")))
                return empty(.noContent)
            } catch {
                return failure(error)
            }
        }
        both("/userdata/{file}/move/{dest}", .post) { request, context in
            let query = request.uri.queryParameters
            do {
                return json(
                    try await users.move(
                        decoded(context.parameters.get("file")), to: decoded(context.parameters.get("dest")),
                        overwrite: query.get("overwrite") != "false", fullInfo: flag(query.get("full_info"))))
            } catch {
                return failure(error)
            }
        }
    }

    /// A route parameter as aiohttp hands it over: percent-decoded, so `workflows%2Fa.json` is `workflows/a.json`.
    static func decoded(_ parameter: String?) -> String {
        let raw = parameter ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    static func flag(_ value: String?) -> Bool { value?.lowercased() == "true" }

    static func text(_ message: String, _ status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: message)))
    }

    /// ComfyUI's answer to a userdata failure (a `UserDirectory.Failure`; anything else is a 500).
    static func failure(_ error: any Error) -> Response {
        switch error as? UserDirectory.Failure {
        case .missingName: empty(.badRequest)
        case .outsideUserDirectory: empty(.forbidden)
        case .notFound: empty(.notFound)
        case .exists: text("File already exists", .conflict)
        case nil: internalError()
        }
    }

    static func contentType(_ pathExtension: String) -> String {
        switch pathExtension.lowercased() {
        case "json": "application/json"
        case "css": "text/css"
        case "js": "text/javascript"
        case "png": "image/png"
        case "txt": "text/plain"
        default: "application/octet-stream"
        }
    }
}

import ComfyWire
import Foundation
import NIOHTTP1

extension ComfyClient {
    /// `GET /models`: the model folder names (`checkpoints`, `loras`, …).
    public func modelFolders() async throws(ClientError) -> (folders: [String], json: JSONValue) {
        let json = try await json(.GET, "/models")
        return (json.arrayValue?.compactMap(\.stringValue) ?? [], json)
    }

    /// `GET /models/{folder}`: the files of one model folder; an unknown folder is `notFound` with the known ones.
    public func models(in folder: String) async throws(ClientError) -> (files: [String], json: JSONValue) {
        let answer = try await send(.GET, "/models/" + ServerAddress.encode(folder))
        if answer.status == 404 {
            let known = (try? await modelFolders().folders) ?? []
            throw .notFound(
                "\(server) has no model folder \"\(folder)\"."
                    + (known.isEmpty ? "" : " Its folders: \(known.joined(separator: ", "))"))
        }
        try expectOK(answer, "GET /models/\(folder)")
        guard let json = try? JSONValue(parsing: answer.body), let files = json.arrayValue else {
            throw .badAnswer(server: server.description, request: "GET /models/\(folder)", reason: "not a JSON list")
        }
        return (files.compactMap(\.stringValue), json)
    }

    /// `GET /object_info`: every node class, name → definition.
    public func nodeClasses() async throws(ClientError) -> JSONObject {
        guard let object = try await json(.GET, "/object_info").objectValue else {
            throw .badAnswer(server: server.description, request: "GET /object_info", reason: "not an object")
        }
        return object
    }

    /// `GET /object_info/{class}`; an unknown class is `notFound`, with the classes whose names come close.
    public func nodeClass(_ name: String) async throws(ClientError) -> (info: JSONValue, json: JSONValue) {
        let json = try await json(.GET, "/object_info/" + ServerAddress.encode(name))
        if let info = json[name] { return (info, json) }
        let all = (try? await nodeClasses().keys) ?? []
        let near = all.filter { $0.localizedCaseInsensitiveContains(name) || name.localizedCaseInsensitiveContains($0) }
        throw .notFound(
            "\(server) has no node class \"\(name)\"."
                + (near.isEmpty ? " `conductor nodes` lists the classes it has." : " Did you mean: \(near.prefix(8).joined(separator: ", "))?"))
    }
}

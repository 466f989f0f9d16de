import ComfyWire
import Foundation
import NIOCore
import NIOHTTP1

extension ComfyClient {
    /// The `/view` URL of a file.
    public static func viewURL(server: ServerAddress, file: OutputFile) -> String {
        var query = [("filename", file.filename), ("type", file.type)]
        if !file.subfolder.isEmpty { query.insert(("subfolder", file.subfolder), at: 1) }
        return server.url("/view", query: query)
    }

    public func viewURL(_ file: OutputFile) -> String { Self.viewURL(server: server, file: file) }

    /// `GET /view`: the file's bytes.
    public func download(_ file: OutputFile) async throws(ClientError) -> [UInt8] {
        let answer = try await send(
            .GET, "/view", query: [("filename", file.filename), ("subfolder", file.subfolder), ("type", file.type)],
            timeout: .seconds(600))
        switch answer.status {
        case 200: return answer.body
        case 404:
            throw .notFound(
                """
                \(server) has no \(file.type) file \(file.path).
                `conductor history ID` lists a prompt's outputs; an input file needs --type input.
                """)
        default:
            throw .unexpectedStatus(server: server.description, request: "GET /view", status: answer.status, body: answer.text)
        }
    }

    /// `POST /upload/image`, or `/upload/mask` when the request names the image the mask belongs to.
    public func upload(_ request: UploadRequest) async throws(ClientError) -> UploadResult {
        var fields = [("type", request.type), ("subfolder", request.subfolder)]
        if request.overwrite { fields.append(("overwrite", "true")) }
        if let original = request.maskFor {
            let reference: JSONValue = [
                "filename": .string(original.filename), "subfolder": .string(original.subfolder), "type": .string(original.type)
            ]
            fields.append(("original_ref", reference.jsonString(.compact)))
        }
        let boundary = "conductor-\(UUID().uuidString)"
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        let quoted = request.filename.replacingOccurrences(of: "\"", with: "%22")
        body += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"\(quoted)\"\r\nContent-Type: \(MediaType.of(filename: request.filename))\r\n\r\n"
                .utf8)
        body += request.bytes
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        let route = request.maskFor == nil ? "/upload/image" : "/upload/mask"
        let answer = try await send(.POST, route, body: body, contentType: "multipart/form-data; boundary=\(boundary)", timeout: .seconds(600))
        try expectOK(answer, "POST \(route)")
        guard let json = try? JSONValue(parsing: answer.body), let name = json["name"]?.stringValue else {
            throw .badAnswer(server: server.description, request: "POST \(route)", reason: "no name in \(answer.text.prefix(200))")
        }
        return UploadResult(name: name, subfolder: json["subfolder"]?.stringValue ?? "", type: json["type"]?.stringValue ?? request.type, json: json)
    }
}

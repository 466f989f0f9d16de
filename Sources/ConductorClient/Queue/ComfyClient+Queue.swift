import ComfyWire
import NIOHTTP1

extension ComfyClient {
    /// `GET /prompt`: how many prompts are running or waiting.
    public func queueRemaining() async throws(ClientError) -> (count: Int, json: JSONValue) {
        let json = try await json(.GET, "/prompt")
        guard let count = json["exec_info"]?["queue_remaining"]?.intValue else {
            throw .badAnswer(server: server.description, request: "GET /prompt", reason: "no exec_info.queue_remaining")
        }
        return (count, json)
    }

    /// `GET /queue`: what runs and what waits, pending sorted into run order (the server sends a heap).
    public func queue() async throws(ClientError) -> (status: QueueStatus, json: JSONValue) {
        let json = try await json(.GET, "/queue")
        do {
            var status = try QueueStatus(json: json)
            status.pending.sort(by: Self.runsFirst)
            return (status, json)
        } catch {
            throw .badAnswer(server: server.description, request: "GET /queue", reason: error.description)
        }
    }

    /// Lower number first, then prompt id: ComfyUI's heap order.
    static func runsFirst(_ a: QueueItem, _ b: QueueItem) -> Bool {
        let left = a.number.double ?? 0, right = b.number.double ?? 0
        return left != right ? left < right : a.promptID < b.promptID
    }

    /// `POST /queue {"delete": ids}`: removes pending prompts (running ones are left alone by the server).
    public func deletePending(_ ids: [String]) async throws(ClientError) {
        let answer = try await send(.POST, "/queue", json: ["delete": .array(ids.map(JSONValue.string))])
        try expectOK(answer, "POST /queue")
    }

    /// `POST /queue {"clear": true}`: removes every pending prompt.
    public func clearPending() async throws(ClientError) {
        let answer = try await send(.POST, "/queue", json: ["clear": true])
        try expectOK(answer, "POST /queue")
    }

    /// `POST /interrupt`: stops the running prompt; with an id, only if that prompt is the one running.
    public func interrupt(promptID: String?) async throws(ClientError) {
        let body: JSONValue = promptID.map { ["prompt_id": .string($0)] } ?? [:]
        let answer = try await send(.POST, "/interrupt", json: body)
        try expectOK(answer, "POST /interrupt")
    }
}

import ComfyWire
import NIOHTTP1

extension ComfyClient {
    /// `GET /history`: finished prompts, oldest first. `limit` keeps the newest N; `offset` counts
    /// from the oldest entry (ComfyUI's `max_items` and `offset`).
    public func history(limit: Int?, offset: Int?) async throws(ClientError) -> (entries: [(id: String, entry: HistoryEntry)], json: JSONValue) {
        var query: [(String, String)] = []
        if let limit { query.append(("max_items", String(limit))) }
        if let offset { query.append(("offset", String(offset))) }
        let json = try await json(.GET, "/history", query: query)
        guard case .object(let object) = json else {
            throw .badAnswer(server: server.description, request: "GET /history", reason: "not an object")
        }
        var entries: [(id: String, entry: HistoryEntry)] = []
        for (id, value) in object {
            do {
                entries.append((id, try HistoryEntry(json: value)))
            } catch {
                throw .badAnswer(server: server.description, request: "GET /history", reason: "entry \(id): \(error)")
            }
        }
        return (entries, json)
    }

    /// `GET /history/{id}`; a prompt the server does not know is `ClientError.notFound`.
    public func historyEntry(_ id: String) async throws(ClientError) -> (entry: HistoryEntry, json: JSONValue) {
        let json = try await json(.GET, "/history/" + ServerAddress.encode(id))
        guard let value = json[id] else {
            throw .notFound(
                """
                \(server) has no finished prompt \(id).
                It may still be queued or running (`conductor queue`), or the id is wrong (`conductor history` lists finished ones).
                """)
        }
        do {
            return (try HistoryEntry(json: value), json)
        } catch {
            throw .badAnswer(server: server.description, request: "GET /history/\(id)", reason: error.description)
        }
    }

    /// The GPU nodes behind Conductor (from its `/system_stats`); empty for a single ComfyUI.
    public func fleetNodeNames() async -> [String] {
        guard let stats = try? await json(.GET, "/system_stats") else { return [] }
        return stats["system"]?["conductor"]?["nodes"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    }
}

import ComfyWire
import Foundation

/// The WebSocket clients connected to Conductor, and ComfyUI's who-receives-what rules for them.
actor EventHub {
    /// A frame queued for one client socket.
    enum Frame: Sendable {
        case text(String)
        case binary([UInt8])
    }

    struct Client {
        let id: UUID
        let sid: String
        let continuation: AsyncStream<Frame>.Continuation
        var featureFlags: JSONObject = [:]
        var supportsPreviewMetadata: Bool { featureFlags["supports_preview_metadata"]?.boolValue == true }
    }

    /// Frames buffered per client before the slowest reader starts losing its oldest previews.
    static let bufferLimit = 4096

    private var clients: [String: Client] = [:]

    var count: Int { clients.count }

    func connect(sid: String) -> (id: UUID, frames: AsyncStream<Frame>) {
        let (stream, continuation) = AsyncStream<Frame>.makeStream(bufferingPolicy: .bufferingNewest(Self.bufferLimit))
        let client = Client(id: UUID(), sid: sid, continuation: continuation)
        // A second socket with the same clientId takes over, as on a ComfyUI node.
        clients[sid] = client
        return (client.id, stream)
    }

    func disconnect(sid: String, id: UUID) {
        guard let client = clients[sid], client.id == id else { return }
        client.continuation.finish()
        clients[sid] = nil
    }

    func setFeatureFlags(_ flags: JSONObject, sid: String, id: UUID) {
        guard var client = clients[sid], client.id == id else { return }
        client.featureFlags = flags
        clients[sid] = client
    }

    func isConnected(_ sid: String) -> Bool { clients[sid] != nil }

    /// To one client, if connected (owner-only messages are dropped otherwise, as ComfyUI does).
    func send(_ message: ServerMessage, to sid: String) {
        clients[sid]?.continuation.yield(.text(message.json.jsonString()))
    }

    func broadcast(_ message: ServerMessage) {
        let text = message.json.jsonString()
        for client in clients.values { client.continuation.yield(.text(text)) }
    }

    /// Progress-type messages: the owner, or everyone when the prompt has no client_id.
    func sendProgress(_ message: ServerMessage, owner: String?) {
        if let owner { send(message, to: owner) } else { broadcast(message) }
    }

    /// A preview image: type 4 with metadata to clients that asked for it, type 1 to the rest.
    func sendPreview(image: [UInt8], metadata: JSONObject, owner: String?) {
        let targets = owner.map { sid in clients[sid].map { [$0] } ?? [] } ?? Array(clients.values)
        let format: BinaryFrame.ImageFormat = metadata["image_type"]?.stringValue == "image/png" ? .png : .jpeg
        for client in targets {
            let frame: BinaryFrame = owner != nil && client.supportsPreviewMetadata
                ? .previewImageWithMetadata(metadata: metadata, image: image)
                : .previewImage(format: format, image: image)
            client.continuation.yield(.binary(frame.bytes))
        }
    }

    /// Binary frames without a prompt (event 3 text): broadcast as ComfyUI does.
    func broadcastBinary(_ bytes: [UInt8]) {
        for client in clients.values { client.continuation.yield(.binary(bytes)) }
    }

    func closeAll() {
        for client in clients.values { client.continuation.finish() }
        clients.removeAll()
    }
}

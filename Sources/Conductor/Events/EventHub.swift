import ComfyWire
import Foundation
import Logging
import Synchronization

/// The WebSocket clients connected to Conductor, and ComfyUI's who-receives-what rules for them.
///
/// Every frame reaches a client in order or the client is cut off: a socket whose unwritten frames pass
/// `bufferLimitBytes` (a client that stopped reading) is closed rather than allowed to lose a message, such as the
/// `executing` null its script waits for, or to hold unbounded memory. A ComfyUI client reconnects and reads `/history`.
actor EventHub {
    /// A frame queued for one client socket.
    enum Frame: Sendable {
        case text(String)
        case binary([UInt8])

        var byteCount: Int {
            switch self {
            case .text(let text): text.utf8.count
            case .binary(let bytes): bytes.count
            }
        }
    }

    struct Client {
        let id: UUID
        let sid: String
        let outbox: Outbox
        var featureFlags: JSONObject = [:]
        var supportsPreviewMetadata: Bool { featureFlags["supports_preview_metadata"]?.boolValue == true }
    }

    /// What one client socket has still to write: its frames, their bytes, and a signal that the hub gave up on it.
    final class Outbox: Sendable {
        let frames: AsyncStream<Frame>
        /// Ends when the hub drops the client; the socket's session closes the socket at once if it was cut off.
        let dropped: AsyncStream<Void>
        private let framesIn: AsyncStream<Frame>.Continuation
        private let droppedIn: AsyncStream<Void>.Continuation
        private let queued = Atomic<Int>(0)
        private let cut = Atomic<Bool>(false)

        init() {
            (frames, framesIn) = AsyncStream<Frame>.makeStream()
            (dropped, droppedIn) = AsyncStream<Void>.makeStream()
        }

        /// Bytes queued and not yet written.
        var queuedBytes: Int { queued.load(ordering: .relaxed) }
        var wasCutOff: Bool { cut.load(ordering: .relaxed) }

        /// Queues a frame; the bytes now waiting.
        func enqueue(_ frame: Frame) -> Int {
            let bytes = frame.byteCount
            framesIn.yield(frame)
            return queued.add(bytes, ordering: .relaxed).newValue
        }

        /// The session wrote a frame to the socket.
        func written(_ frame: Frame) { queued.subtract(frame.byteCount, ordering: .relaxed) }

        func finish(cutOff: Bool) {
            if cutOff { cut.store(true, ordering: .relaxed) }
            framesIn.finish()
            droppedIn.finish()
        }
    }

    /// Unwritten bytes one client may have before it is cut off (`limits.clientBufferBytes`).
    let bufferLimitBytes: Int
    let metrics: ConductorMetrics
    let logger: Logger
    private var clients: [String: Client] = [:]
    /// The ends of each client's jobs (`execution_success`/`_error`/`_interrupted`, `executing` null) from the last
    /// `endsKeptFor`, sent again when a socket with that clientId connects: an end that was written to a socket that
    /// then dropped (a coordinator killed, a network blip), or that came while the client had no socket, still
    /// reaches a client that reconnects. At least once: a client that did hear it hears it again.
    private var recentEnds: [String: [(frame: Frame, at: ContinuousClock.Instant)]] = [:]
    static let endsPerClient = 64
    static let endsClients = 10_000
    static let endsKeptFor: Duration = .seconds(30)
    init(bufferLimitBytes: Int, metrics: ConductorMetrics, logger: Logger) {
        self.bufferLimitBytes = bufferLimitBytes
        self.metrics = metrics
        self.logger = logger
    }

    var count: Int { clients.count }

    func connect(sid: String) -> (id: UUID, outbox: Outbox) {
        let client = Client(id: UUID(), sid: sid, outbox: Outbox())
        // A second socket with the same clientId takes over, as on a ComfyUI node (the first stays open, unfed).
        clients[sid] = client
        return (client.id, client.outbox)
    }

    func disconnect(sid: String, id: UUID) {
        guard let client = clients[sid], client.id == id else { return }
        client.outbox.finish(cutOff: false)
        clients[sid] = nil
    }

    /// Queues a frame for a client, or cuts the client off when it has stopped reading.
    private func deliver(_ frame: Frame, to client: Client) {
        guard client.outbox.enqueue(frame) > bufferLimitBytes else { return }
        client.outbox.finish(cutOff: true)
        if clients[client.sid]?.id == client.id { clients[client.sid] = nil }
        metrics.recordWebSocketCutOff()
        logger.warning(
            "client socket cut off: it stopped reading",
            metadata: [
                "client.id": "\(client.sid)", "client.queued_bytes": "\(client.outbox.queuedBytes)"
            ])
    }

    func setFeatureFlags(_ flags: JSONObject, sid: String, id: UUID) {
        guard var client = clients[sid], client.id == id else { return }
        client.featureFlags = flags
        clients[sid] = client
    }

    func isConnected(_ sid: String) -> Bool { clients[sid] != nil }

    /// To one client, if connected (owner-only messages are dropped otherwise, as ComfyUI does; ends are kept, see
    /// `recentEnds`).
    func send(_ message: ServerMessage, to sid: String) {
        let frame = Frame.text(message.json.jsonString())
        if Self.isEnd(message) { keepEnd(frame, for: sid) }
        guard let client = clients[sid] else { return }
        deliver(frame, to: client)
    }

    static func isEnd(_ message: ServerMessage) -> Bool {
        switch message {
        case .executing(let node, _, let promptID): node == nil && promptID != nil
        case .executionSuccess, .executionError, .executionInterrupted: true
        default: false
        }
    }

    /// Keeps an end for the client's next connection (also ends this coordinator did not send itself: a new leader
    /// learns those of the last moments from the store).
    func keepEnd(_ frame: Frame, for sid: String) {
        let now = ContinuousClock.now
        if recentEnds[sid] == nil, recentEnds.count >= Self.endsClients {
            recentEnds = recentEnds.filter { now - ($0.value.last?.at ?? now) < Self.endsKeptFor }
            if recentEnds.count >= Self.endsClients, let oldest = recentEnds.min(by: { ($0.value.last?.at ?? now) < ($1.value.last?.at ?? now) })?.key
            {
                recentEnds[oldest] = nil
            }
        }
        var frames = recentEnds[sid, default: []].filter { now - $0.at < Self.endsKeptFor }
        frames.append((frame, now))
        recentEnds[sid] = Array(frames.suffix(Self.endsPerClient))
    }

    func keepEnd(_ message: ServerMessage, for sid: String) { keepEnd(.text(message.json.jsonString()), for: sid) }

    /// Sends a client that just connected the ends of its jobs from the last moments, oldest first.
    func replayEnds(to sid: String) {
        guard let frames = recentEnds[sid], let client = clients[sid] else { return }
        let now = ContinuousClock.now
        for entry in frames where now - entry.at < Self.endsKeptFor { deliver(entry.frame, to: client) }
    }

    func broadcast(_ message: ServerMessage) {
        let frame = Frame.text(message.json.jsonString())
        for client in clients.values { deliver(frame, to: client) }
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
            let frame: BinaryFrame =
                owner != nil && client.supportsPreviewMetadata
                ? .previewImageWithMetadata(metadata: metadata, image: image)
                : .previewImage(format: format, image: image)
            deliver(.binary(frame.bytes), to: client)
        }
    }

    /// Binary frames without a prompt (event 3 text): broadcast as ComfyUI does.
    func broadcastBinary(_ bytes: [UInt8]) {
        for client in clients.values { deliver(.binary(bytes), to: client) }
    }

    func closeAll() {
        for client in clients.values { client.outbox.finish(cutOff: false) }
        clients.removeAll()
    }
}

import ComfyWire
import Foundation
import Logging

/// A simulated ComfyUI server: one queue, one worker, in-memory history, WebSocket clients and a
/// simulated GPU — behaving on the wire as ComfyUI v0.8.0 does (see comfyui-observed/).
public actor SimulatedNode {
    public nonisolated let profile: NodeProfile
    public nonisolated let files: FileStore
    /// The `default` user's settings and saved files, under `user/default` in the node's directory.
    public nonisolated let users: UserDirectory
    let catalog = NodeCatalog.standard
    /// The JPEG sent as each step preview (the profile's size).
    let previewImage: [UInt8]
    let logger: Logger

    var gpu: SimulatedGPU
    /// ComfyUI's priority counter; advances on every POST /prompt, even rejected ones.
    var counter = 0
    var pending = PendingQueue()
    var running: QueueItem?
    var runningNode: String?
    var history = HistoryStore()
    var cache: [String: CachedNode] = [:]
    /// Node ids of the last prompt whose outputs are cached (`execution_error.current_outputs`).
    var cachedNodeIDs: [String] = []
    var sockets: [String: WebSocketClient] = [:]
    /// Every open socket's frame stream, including one another socket of its sid has replaced in `sockets` (it stays
    /// open but hears nothing, as on ComfyUI), so going down can end them all.
    var sessions: [UUID: AsyncStream<OutboundFrame>.Continuation] = [:]
    var interruptRequested = false
    /// Bumped on a simulated restart so work in flight knows it belongs to a dead process.
    var generation = 0
    var faults = FaultState()
    /// Between a simulated crash (or refused-connections fault) and the listener coming back.
    var isDown = false
    /// The last requests the node received, as `METHOD /path?query`, oldest first (at most 2,000).
    public internal(set) var requestLog: [String] = []
    var workSignal: AsyncStream<Void>.Continuation?
    /// Told of every message as it is queued for the sockets (benchmarks time the way to a client from here).
    var sentObserver: (@Sendable (SentMessage) -> Void)?
    var serverControl: AsyncStream<ServerCommand>.Continuation?
    /// Prompts executed to the end (any outcome), for tests counting duplicate executions.
    public internal(set) var executionCount = 0
    /// Client ids with an open WebSocket, for tests that watch who is connected.
    public var webSocketClientIDs: Set<String> { Set(sockets.keys) }

    /// Upper bound on history entries, as ComfyUI's MAXIMUM_HISTORY_SIZE.
    static let maximumHistory = 10_000

    public init(profile: NodeProfile, directory: URL, logger: Logger = Logger(label: "sim-node")) throws {
        self.profile = profile
        self.files = try FileStore(root: directory)
        self.users = UserDirectory(root: directory.appendingPathComponent("user/default", isDirectory: true))
        self.gpu = SimulatedGPU(profile: profile)
        self.previewImage = profile.previewBytes.map(PreviewJPEG.padded(to:)) ?? PreviewJPEG.bytes
        var logger = logger
        logger[metadataKey: "node.name"] = .string(profile.name)
        self.logger = logger
        files.clearTemp()
    }

    // MARK: Queue state

    public var queueRemaining: Int { pending.count + (running == nil ? 0 : 1) }

    func catalogContext() -> CatalogContext {
        CatalogContext(
            checkpoints: profile.checkpoints.map(\.name).sorted(),
            loras: profile.loras.map(\.name).sorted(),
            vaes: profile.vaes.map(\.name).sorted(),
            inputImages: files.inputImages(), inputFiles: files.inputFiles())
    }

    func validator() -> PromptValidator {
        let files = self.files
        return PromptValidator(catalog: catalog.byName, context: catalogContext()) { files.exists(reference: $0) }
    }

    /// What `POST /prompt` answers: status and JSON body.
    public func submit(body: JSONValue, usageSource: String? = nil) -> (status: Int, body: JSONValue) {
        let assigned = counter
        guard case .object(let request) = body else {
            counter += 1
            return (500, .null)
        }
        let number: JSONNumber
        if let explicit = request["number"] {
            // An explicit number is used as given and leaves the counter where it is.
            guard let value = explicit.doubleValue ?? explicit.stringValue.flatMap({ Double($0) }) else { return (500, .null) }
            number = JSONNumber(value)
        } else {
            number = JSONNumber(request["front"]?.isTruthy == true ? -assigned : assigned)
            counter += 1
        }
        guard let prompt = request["prompt"] else {
            return (
                400,
                [
                    "error": .object(PromptValidator.error("no_prompt", "No prompt provided", "No prompt provided")),
                    "node_errors": [:]
                ]
            )
        }
        // v0.8.0: str(json_data.get("prompt_id", uuid4())); an explicit null becomes "None".
        let promptID: String
        switch request["prompt_id"] {
        case nil: promptID = UUID().uuidString.lowercased()
        case .string(let s)?: promptID = s
        case .null?: promptID = "None"
        case .number(let n)?: promptID = n.literal
        case .bool(let b)?: promptID = b ? "True" : "False"
        case let other?: promptID = other.jsonString()
        }
        let targets = request["partial_execution_targets"]?.arrayValue?.compactMap(\.stringValue)
        switch validator().validate(prompt, partialExecutionTargets: targets) {
        case .rejected(let failure):
            return (400, failure)
        case .accepted(let validated, let outputs, let nodeErrors):
            var extra = request["extra_data"]?.objectValue ?? JSONObject()
            if let clientID = request["client_id"] { extra["client_id"] = clientID }
            if let usageSource, extra["comfy_usage_source"] == nil { extra["comfy_usage_source"] = .string(usageSource) }
            extra.removeValue(forKey: "auth_token_comfy_org")
            extra.removeValue(forKey: "api_key_comfy_org")
            extra["create_time"] = .number(JSONNumber(Self.nowMilliseconds()))
            pending.push(
                QueueItem(
                    number: number, promptID: promptID, prompt: validated, extraData: extra,
                    outputsToExecute: outputs))
            broadcastStatus()
            workSignal?.yield()
            return (200, ["prompt_id": .string(promptID), "number": .number(number), "node_errors": .object(nodeErrors)])
        }
    }

    /// `GET /queue`.
    public func queueJSON() -> JSONValue {
        ["queue_running": .array(running.map { [$0.json] } ?? []), "queue_pending": .array(pending.items.map(\.json))]
    }

    /// `POST /queue`: clear and/or delete pending items; the running one is never touched.
    public func editQueue(clear: Bool, delete: [String]) {
        var changed = false
        if clear, !pending.isEmpty {
            pending.removeAll()
            changed = true
        }
        for id in delete where pending.removeFirst(where: { $0.promptID == id }) != nil { changed = true }
        if changed { broadcastStatus() }
    }

    /// `POST /interrupt`: global, or only when `promptID` is the one running now.
    public func interrupt(promptID: String?) {
        guard let running else { return }
        if let promptID, promptID != running.promptID { return }
        interruptRequested = true
    }

    /// `POST /free`.
    public func free(unloadModels: Bool, freeMemory: Bool) {
        if unloadModels || freeMemory { gpu.unloadAll() }
        if freeMemory {
            cache.removeAll()
            cachedNodeIDs.removeAll()
        }
    }

    // MARK: WebSocket clients

    /// Registers a socket under `sid`; a second socket with the same sid replaces the first. A socket that arrives
    /// while the node is going down gets a stream that has already ended, so it closes at once (it would otherwise
    /// hold the server's shutdown open for ever).
    func connect(sid: String) -> (WebSocketClient, AsyncStream<OutboundFrame>) {
        let (stream, continuation) = AsyncStream<OutboundFrame>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let client = WebSocketClient(id: UUID(), sid: sid, continuation: continuation)
        guard !isDown else {
            continuation.finish()
            return (client, stream)
        }
        sockets[sid] = client
        sessions[client.id] = continuation
        continuation.yield(.text(ServerMessage.status(queueRemaining: queueRemaining, sid: sid).json.jsonString()))
        if let running, running.clientID == sid, let node = runningNode {
            continuation.yield(.text(ServerMessage.executing(node: node, displayNode: nil, promptID: nil).json.jsonString()))
        }
        return (client, stream)
    }

    /// The socket's first text frame: a `feature_flags` message is stored and answered.
    func receivedFirstMessage(_ text: String, from client: WebSocketClient) {
        guard let message = try? JSONValue(parsing: text), message["type"]?.stringValue == "feature_flags",
            let flags = message["data"]?.objectValue
        else { return }
        guard var current = sockets[client.sid], current.id == client.id else { return }
        current.featureFlags = flags
        sockets[client.sid] = current
        current.continuation.yield(.text(ServerMessage.featureFlags(Self.features(profile)).json.jsonString()))
    }

    func disconnect(_ client: WebSocketClient) {
        if sockets[client.sid]?.id == client.id { sockets[client.sid] = nil }
        sessions[client.id] = nil
        client.continuation.finish()
    }

    func send(_ message: ServerMessage, to sid: String?) {
        guard let sid, let socket = sockets[sid] else { return }
        socket.continuation.yield(.text(message.json.jsonString()))
        sentObserver?(.message(message))
    }

    func broadcast(_ message: ServerMessage) {
        let text = message.json.jsonString()
        for socket in sockets.values { socket.continuation.yield(.text(text)) }
        sentObserver?(.message(message))
    }

    /// Calls `observer` with each message as it is queued for the sockets, on the node's actor: keep it short.
    public func observeSent(_ observer: @escaping @Sendable (SentMessage) -> Void) { sentObserver = observer }

    func broadcastStatus() { broadcast(.status(queueRemaining: queueRemaining, sid: nil)) }

    /// Progress-type messages: to the owner, or to everyone when the prompt has no client_id.
    func sendProgress(_ message: ServerMessage, owner: String?) {
        if owner == nil { broadcast(message) } else { send(message, to: owner) }
    }

    func sendPreview(promptID: String, node: String, owner: String?) {
        let targets = owner.map { sid in sockets[sid].map { [$0] } ?? [] } ?? Array(sockets.values)
        for socket in targets {
            let frame: BinaryFrame
            // A prompt without client_id broadcasts type 1 to every socket, whatever it negotiated.
            if owner != nil, socket.featureFlags["supports_preview_metadata"]?.boolValue == true {
                frame = .previewImageWithMetadata(
                    metadata: [
                        "node_id": .string(node), "prompt_id": .string(promptID), "display_node_id": .string(node),
                        "parent_node_id": .null, "real_node_id": .string(node), "image_type": "image/jpeg"
                    ],
                    image: previewImage)
            } else {
                frame = .previewImage(format: .jpeg, image: previewImage)
            }
            socket.continuation.yield(.binary(frame.bytes))
        }
        if !targets.isEmpty { sentObserver?(.preview(promptID: promptID)) }
    }

    // MARK: Features and stats

    static func features(_ profile: NodeProfile) -> JSONObject {
        [
            "supports_preview_metadata": true, "max_upload_size": .int(profile.maxUploadBytes),
            "extension": ["manager": ["supports_v4": true]]
        ]
    }

    public func systemStats() -> JSONValue {
        let ramFree = profile.ramTotalBytes * 9 / 10
        let system: JSONObject = [
            "os": "linux", "ram_total": .number(JSONNumber(profile.ramTotalBytes)), "ram_free": .number(JSONNumber(ramFree)),
            "comfyui_version": "0.8.0", "required_frontend_version": "1.35.9",
            "installed_templates_version": "0.7.67", "required_templates_version": "0.7.67",
            "python_version": "3.11.7 (main, May  9 2026, 07:35:25) [GCC 12.2.0]",
            "pytorch_version": "2.11.0+cu130", "embedded_python": false,
            "argv": ["main.py", "--listen", "127.0.0.1", "--simulated", .string(profile.name)]
        ]
        let device: JSONObject = [
            "name": .string(profile.deviceName), "type": "cuda", "index": 0,
            "vram_total": .number(JSONNumber(gpu.vramTotal)), "vram_free": .number(JSONNumber(gpu.vramFree)),
            "torch_vram_total": .number(JSONNumber(gpu.vramUsed)),
            "torch_vram_free": .number(JSONNumber(max(0, gpu.vramUsed - gpu.reserved)))
        ]
        return ["system": .object(system), "devices": [.object(device)]]
    }

    public var residentModels: [String] { gpu.resident.map(\.name) }

    static func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}

/// One connected WebSocket: its sid, negotiated flags, and the queue its writer drains.
struct WebSocketClient: Sendable {
    let id: UUID
    let sid: String
    let continuation: AsyncStream<OutboundFrame>.Continuation
    var featureFlags: JSONObject = [:]
}

/// A message a node has queued for its sockets, as an observer hears of it.
public enum SentMessage: Sendable {
    case message(ServerMessage)
    /// A step preview of this prompt (one per preview, however many sockets it went to).
    case preview(promptID: String)
}

/// A frame waiting to be written to one socket.
enum OutboundFrame: Sendable {
    case text(String)
    case binary([UInt8])
}

/// Commands to the HTTP listener, used by fault injection.
enum ServerCommand: Sendable {
    /// Close the listener and every connection for this many real seconds, then listen again.
    case goDown(seconds: Double)
}

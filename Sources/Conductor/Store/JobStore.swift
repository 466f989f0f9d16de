import ComfyWire
import ConductorCore
import Foundation

/// The job of ConductorCore, not the concurrency runtime's.
typealias Job = ConductorCore.Job

/// Milliseconds since the Unix epoch, as ComfyUI's timestamps count them.
func epochMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

/// A job in history with what operators ask of it besides its ComfyUI entry.
public struct FinishedJob: Sendable {
    public var id: String
    public var node: String?
    /// Why the scheduler put it where it ran (JSON of `Placement`); nil for jobs finished before it was kept.
    public var placement: String?
    public var completedAt: Int64
    public var entry: HistoryEntry
}

/// The durable queue, the merged history, the fleet's run-time changes and the file books: what Conductor keeps
/// across restarts. Two implementations with one schema's concepts: `SQLiteStore` (one coordinator, the default)
/// and `PostgresStore` (one or several coordinators). Every write is committed before it returns.
public protocol JobStore: Sendable {
    /// New jobs wait here for the next commit, which takes all that arrived meanwhile.
    var inserts: GroupCommit { get }

    // MARK: Queue

    /// Inserts jobs in one transaction (one flush for all), each on its own so one that fails (a duplicate id) fails
    /// alone.
    func insertAll(_ batch: [NewJob]) async -> [Result<ConductorCore.Job, any Error>]
    /// Whether a job of this id is queued, running or in history.
    func contains(id: String) async throws -> Bool
    /// All unfinished jobs in queue order (number, then acceptance).
    func activeJobs() async throws -> [ConductorCore.Job]
    func job(id: String) async throws -> ConductorCore.Job?
    func update(id: String, state: ConductorCore.Job.State, node: String?, placement: String?) async throws
    /// Removes queued jobs; returns the ids actually removed.
    func deleteQueued(ids: [String]) async throws -> [String]
    func deleteJob(id: String) async throws
    /// The highest sequence ever used, so numbering continues after a restart.
    func lastSequence() async throws -> Int64

    // MARK: History

    /// Moves a job into history in one transaction: it is never both or neither. Its placement goes with it.
    func complete(id: String, node: String?, entry: HistoryEntry, completedAt: Int64) async throws
    /// The stored JSON text of a history entry (ComfyUI's `.python` spacing).
    func historyEntryText(id: String) async throws -> String?
    func historyNode(id: String) async throws -> String?
    /// (id, entry JSON text) of a page with ComfyUI's semantics, oldest first: offset from the oldest; a negative
    /// offset with `maxItems` = the newest `maxItems`.
    func historyRows(maxItems: Int?, offset: Int) async throws -> [(String, String)]
    /// Appends finished jobs to history in one transaction (an import; the benchmarks seed a large history with it).
    func appendHistory(_ entries: [(id: String, node: String?, entry: HistoryEntry, completedAt: Int64)]) async throws
    func deleteHistory(ids: [String]) async throws
    func clearHistory() async throws
    /// The newest finished jobs, newest first.
    func recentlyFinished(limit: Int) async throws -> [FinishedJob]
    func finishedJob(id: String) async throws -> FinishedJob?
    /// Jobs finished at or after `completedAt` (epoch ms), oldest first, among the newest `StoredJSON.recentRowsScanned`
    /// (read backwards by key: the cost does not grow with the history).
    func finished(since completedAt: Int64) async throws -> [FinishedJob]

    // MARK: Installation and fleet

    /// A stable id for this installation, made on first start: Conductor's client ids on the nodes derive from it, so
    /// after a restart (or on another coordinator) the nodes' events for jobs in flight reach it again.
    func instanceID() async throws -> String
    /// VRAM (bytes) each checkpoint was seen to need, kept across restarts.
    func vramNeeds() async throws -> [String: Int64]
    func setVRAMNeeds(_ needs: [String: Int64]) async throws
    /// The operator's changes to the fleet, oldest first.
    func fleetChanges() async throws -> [FleetChange]
    func saveAddedNode(_ node: ClusterConfig.Node) async throws
    func saveRemovedNode(_ name: String) async throws
    func saveDraining(_ name: String, _ draining: Bool) async throws

    // MARK: Health

    /// Whether a write failed for a reason that may pass (a full disk, a database out of reach), as an error type and
    /// message for the client, who is told to retry (503 with Retry-After) rather than given a 500.
    func temporaryFailure(_ error: any Error) -> (type: String, message: String)?
    /// Writes one row and commits, to learn whether the store can write again.
    func probeWrite() async throws

    // MARK: File books (see `UploadStore`)

    /// Every name and every copy, to load the file store's index.
    func filesAndCopies() async throws -> (files: [StoredFile], copies: [NodeCopy])
    /// Gives a blob a name with ComfyUI's upload rules (see `UploadStore.claim`), in one transaction.
    func claimName(
        _ blob: Blob, filename: String, subfolder: String, kind: FileReference.Kind, overwrite: Bool
    ) async throws
        -> StoredFile
    /// Marks blobs as used now, for retention.
    func touchFiles(_ hashes: Set<String>) async throws
    /// Drops the names of blobs unused for `maxAge` seconds, then of the least recently used until the blobs fit in
    /// `maxBytes`, never of a blob in `keep`. Returns the names dropped and the blobs no name refers to any more.
    func evictFiles(maxBytes: Int64, maxAge: Double, keep: Set<String>) async throws -> (names: [StoredFile], blobs: [String])
    func recordCopy(_ copy: NodeCopy) async throws
    func touchCopies(_ hashes: Set<String>, on node: String) async throws
    /// The copies on a node beyond `maxBytes`, least recently used first, skipping `keep`.
    func excessCopies(on node: String, maxBytes: Int64, keep: Set<String>) async throws -> [NodeCopy]
    func forgetCopy(_ copy: NodeCopy) async throws
    /// Forgets every copy on a node (it left the fleet).
    func forgetCopies(on node: String) async throws
}

extension JobStore {
    /// Commits a new job; returns it with its sequence number.
    public func insert(
        id: String, number: JSONNumber, clientID: String?, principal: String? = nil, prompt: JSONValue,
        extraData: JSONObject, outputs: [String], createdAt: Int64
    ) async throws -> ConductorCore.Job {
        try await inserts.insert(
            NewJob(
                id: id, number: number, clientID: clientID, principal: principal, prompt: prompt,
                extraData: extraData, outputs: outputs, createdAt: createdAt), into: self)
    }

    public func update(id: String, state: ConductorCore.Job.State, node: String?) async throws {
        try await update(id: id, state: state, node: node, placement: nil)
    }

    public func historyEntry(id: String) async throws -> HistoryEntry? {
        try await historyEntryText(id: id).map { try HistoryEntry(json: JSONValue(parsing: $0)) }
    }

    /// `GET /history?max_items&offset` with ComfyUI's semantics (offset from the oldest; max_items alone = newest N).
    public func historyPage(maxItems: Int?, offset: Int) async throws -> [(String, HistoryEntry)] {
        try await historyRows(maxItems: maxItems, offset: offset).map { id, text in (id, try HistoryEntry(json: JSONValue(parsing: text))) }
    }

    /// A page of history as ComfyUI's `GET /history` body (`{"id": entry, …}`), spliced from the stored entries'
    /// JSON text without parsing them: the page costs what reading its rows costs.
    public func historyPageBody(maxItems: Int?, offset: Int) async throws -> [UInt8] {
        StoredJSON.historyBody(try await historyRows(maxItems: maxItems, offset: offset))
    }

    /// `GET /history/{id}`'s body, spliced the same way: `{"id": entry}`, or `{}`.
    public func historyEntryBody(id: String) async throws -> [UInt8] {
        StoredJSON.historyBody(try await historyEntryText(id: id).map { [(id, $0)] } ?? [])
    }
}

/// How both stores write a job's JSON columns and read them back.
enum StoredJSON {
    /// How many of the newest history rows `finished(since:)` looks at.
    static let recentRowsScanned = 2_000

    static func historyBody(_ rows: [(id: String, entry: String)]) -> [UInt8] {
        var body: [UInt8] = Array("{".utf8)
        for (index, row) in rows.enumerated() {
            if index > 0 { body += Array(", ".utf8) }
            body += JSONValue.string(row.id).serialized(.python) + Array(": ".utf8) + Array(row.entry.utf8)
        }
        return body + Array("}".utf8)
    }

    static func vramNeeds(_ text: String?) throws -> [String: Int64] {
        guard let text, case .object(let object) = try JSONValue(parsing: text) else { return [:] }
        var needs: [String: Int64] = [:]
        for (checkpoint, bytes) in object { if let bytes = bytes.numberValue?.int64 { needs[checkpoint] = bytes } }
        return needs
    }

    static func vramNeedsText(_ needs: [String: Int64]) -> String {
        let object = JSONObject(needs.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.number(JSONNumber($0.value))) })
        return JSONValue.object(object).jsonString(.compact)
    }

    static func newInstanceID() -> String {
        String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12))
    }

    static func job(
        id: String, sequence: Int64, number: String, clientID: String?, principal: String?, prompt: String,
        extraData: String, outputs: String, state: String, node: String?, placement: String?, createdAt: Int64
    ) throws -> Job {
        Job(
            id: id, sequence: sequence, number: JSONNumber(literal: number), clientID: clientID, principal: principal,
            prompt: try JSONValue(parsing: prompt), extraData: try JSONValue(parsing: extraData).objectValue ?? [:],
            outputsToExecute: try JSONValue(parsing: outputs).arrayValue?.compactMap(\.stringValue) ?? [],
            state: Job.State(rawValue: state) ?? .queued, node: node, placement: placement, createdAt: createdAt)
    }

    static func fleetChange(name: String, config text: String?, removed: Bool, draining: Bool) -> FleetChange {
        let config = text.flatMap { try? JSONValue(parsing: $0) }.flatMap { try? ClusterConfig.Node(json: $0) }
        return FleetChange(name: name, config: config, removed: removed, draining: draining)
    }

    /// The columns of a new job row: (number literal, number value, prompt, extra data, outputs).
    static func columns(_ new: NewJob) -> (number: String, value: Double, prompt: String, extra: String, outputs: String) {
        (
            new.number.literal, new.number.double ?? 0, new.prompt.jsonString(.compact),
            JSONValue.object(new.extraData).jsonString(.compact),
            JSONValue.array(new.outputs.map(JSONValue.string)).jsonString(.compact)
        )
    }
}

import ComfyWire

/// A job as Conductor keeps it: the client's prompt and where it is in its life.
public struct Job: Sendable, Hashable {
    /// Where a job is. `queued` waits in Conductor; `dispatched` is on a node (waiting or running there).
    public enum State: String, Sendable, Codable {
        case queued, dispatched, running
    }

    public var id: String
    /// Order of acceptance; breaks ties of `number` as a stable FIFO.
    public var sequence: Int64
    /// The client's priority number (lower runs first), ComfyUI's semantics.
    public var number: JSONNumber
    public var clientID: String?
    /// Who submitted it when API keys are on (the key's name): per-client limits and fair shares count by it, and
    /// after a restart too. nil = keys off (then `clientID` counts).
    public var principal: String?
    /// The prompt exactly as the client sent it.
    public var prompt: JSONValue
    /// The client's extra_data with client_id and create_time, as ComfyUI shows it.
    public var extraData: JSONObject
    public var outputsToExecute: [String]
    public var state: State
    public var node: String?
    /// Why the scheduler put it where it is (JSON of `Placement`).
    public var placement: String?
    public var createdAt: Int64

    public init(
        id: String, sequence: Int64, number: JSONNumber, clientID: String?, principal: String?, prompt: JSONValue,
        extraData: JSONObject, outputsToExecute: [String], state: State, node: String?, placement: String?, createdAt: Int64
    ) {
        self.id = id
        self.sequence = sequence
        self.number = number
        self.clientID = clientID
        self.principal = principal
        self.prompt = prompt
        self.extraData = extraData
        self.outputsToExecute = outputsToExecute
        self.state = state
        self.node = node
        self.placement = placement
        self.createdAt = createdAt
    }

    /// The job as a ComfyUI queue item `[number, prompt_id, prompt, extra_data, outputs]`.
    public var queueItem: QueueItem {
        QueueItem(number: number, promptID: id, prompt: prompt, extraData: extraData, outputsToExecute: outputsToExecute)
    }
}

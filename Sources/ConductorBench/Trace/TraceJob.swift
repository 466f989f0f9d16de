/// One job of a trace: when it arrives, which checkpoint it loads, how much work it is, and whose it is.
public struct TraceJob: Sendable, Hashable {
    /// Position in the trace; unique.
    public var id: Int
    /// Arrival in seconds from the start of the trace.
    public var arrival: Double
    /// Checkpoint the job loads; nil = none (no model effects).
    public var checkpoint: String?
    /// Work in units (1 unit = one second on a node of speed 1).
    public var work: Double
    /// Client that submitted it.
    public var client: String
    /// LoRA applied on top of the checkpoint; nil = none. The scheduler is not told: a cost it does not model.
    public var lora: String?

    public init(
        id: Int, arrival: Double, checkpoint: String?, work: Double, client: String = "client-1", lora: String? = nil
    ) {
        self.lora = lora
        self.id = id
        self.arrival = arrival
        self.checkpoint = checkpoint
        self.work = work
        self.client = client
    }
}

/// What the scheduler knows about one node at decision time (built by the runtime from polls and its own books).
public struct NodeSnapshot: Sendable, Hashable {
    public var name: String
    public var health: NodeHealth
    public var draining: Bool
    /// Prompts dispatched to the node and not finished (running + waiting there).
    public var outstanding: Int
    /// Most prompts the node may hold at once (default 2: one running, one waiting).
    public var maxOutstanding: Int
    /// Class types from the node's /object_info.
    public var classTypes: Set<String>
    /// For model-like combo inputs: class type → input name → allowed values
    /// (e.g. CheckpointLoaderSimple → ckpt_name → {...}). Inputs not listed here are not checked.
    public var comboValues: [String: [String: Set<String>]]
    /// Total VRAM in bytes; 0 = unknown, and then a job's `vramNeeded` is not checked.
    public var vramTotal: Int64
    public var vramFree: Int64
    /// Checkpoint a new prompt will find loaded, as far as the runtime knows: the checkpoint of the last prompt
    /// committed to the node, or the one in VRAM when the node is idle; nil = none or unknown (a load is predicted).
    public var residentCheckpoint: String?
    /// The checkpoint `CheckpointPlan` gives this node; nil = none. A load of any other checkpoint that evicts the
    /// resident one costs `SchedulerKnobs.evictionWeight` × the load in the node's score.
    public var plannedCheckpoint: String?
    /// Measured speed in work units per second (1 unit = one 512×512 sampling step); > 0.
    public var speed: Double
    /// Whether `speed` was measured on this node's own jobs; false = assumed (the fleet's typical measured node).
    /// An assumed speed is never a reason to hold a job back for, or away from, the node.
    public var speedMeasured: Bool
    /// Predicted seconds until the node finishes what is already committed to it: what is left of the running
    /// prompt plus, for each waiting one, its load (if its checkpoint differs from the one before it) and run.
    public var committedSeconds: Double
    /// Predicted seconds to load a checkpoint that is not resident.
    public var checkpointLoadSeconds: Double
    /// Ids of the files (`JobRequirements.FileNeed.id`) the node holds already.
    public var heldFiles: Set<String>
    /// Bytes per second a file reaches the node at; files it lacks delay a job's start by their size over this.
    public var transferBytesPerSecond: Double

    public init(
        name: String,
        health: NodeHealth = .up,
        draining: Bool = false,
        outstanding: Int = 0,
        maxOutstanding: Int = 2,
        classTypes: Set<String> = [],
        comboValues: [String: [String: Set<String>]] = [:],
        vramTotal: Int64 = 0,
        vramFree: Int64 = 0,
        residentCheckpoint: String? = nil,
        plannedCheckpoint: String? = nil,
        speed: Double = 1,
        speedMeasured: Bool = true,
        committedSeconds: Double = 0,
        checkpointLoadSeconds: Double = 0,
        heldFiles: Set<String> = [],
        transferBytesPerSecond: Double = .infinity
    ) {
        self.heldFiles = heldFiles
        self.transferBytesPerSecond = transferBytesPerSecond
        self.name = name
        self.health = health
        self.draining = draining
        self.outstanding = outstanding
        self.maxOutstanding = maxOutstanding
        self.classTypes = classTypes
        self.comboValues = comboValues
        self.vramTotal = vramTotal
        self.vramFree = vramFree
        self.residentCheckpoint = residentCheckpoint
        self.plannedCheckpoint = plannedCheckpoint
        self.speed = speed
        self.speedMeasured = speedMeasured
        self.committedSeconds = committedSeconds
        self.checkpointLoadSeconds = checkpointLoadSeconds
    }

    /// The checkpoints the node lists for its checkpoint loaders (`comboValues`); nil when it lists none, so any may
    /// be tried.
    public var loadableCheckpoints: Set<String>? {
        var found: Set<String>?
        for (loader, input) in JobRequirements.checkpointInputs {
            guard let values = comboValues[loader]?[input] else { continue }
            found = (found ?? []).union(values)
        }
        return found
    }

    /// The node as it will look once `job` is dispatched to it: one more prompt outstanding, the job's predicted
    /// time added to the committed seconds, and the job's checkpoint the one a later prompt will find.
    ///
    /// Lets a dispatcher place several queued prompts in one pass without waiting for the next poll.
    public func committing(_ job: JobRequirements) -> NodeSnapshot {
        let finish = Scheduler.predictedFinish(job, on: self)
        var next = self
        next.outstanding += 1
        next.committedSeconds = finish.queue + finish.load + finish.run
        if let checkpoint = job.checkpoint { next.residentCheckpoint = checkpoint }
        for file in job.files { next.heldFiles.insert(file.id) }
        return next
    }
}

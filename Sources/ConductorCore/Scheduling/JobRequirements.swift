/// What a prompt needs, extracted once when it is accepted.
public struct JobRequirements: Sendable, Hashable {
    /// One literal string input of the prompt, checked against a node's combo lists.
    public struct Choice: Sendable, Hashable {
        public var classType: String
        public var input: String
        public var value: String

        public init(classType: String, input: String, value: String) {
            self.classType = classType
            self.input = input
            self.value = value
        }
    }

    /// A file the job reads that a node may have to receive first (an upload, another node's output).
    public struct FileNeed: Sendable, Hashable {
        /// What identifies the bytes (a content hash, or where another node keeps them).
        public var id: String
        public var bytes: Int64

        public init(id: String, bytes: Int64) {
            self.id = id
            self.bytes = bytes
        }
    }

    public var classTypes: Set<String>
    /// Every literal string input: (class type, input name, value), once each, in prompt order.
    /// The filter checks a choice only where the node's `comboValues` has that class+input.
    public var choices: [Choice]
    /// The checkpoint the prompt loads (first CheckpointLoaderSimple/CheckpointLoader/ImageOnlyCheckpointLoader
    /// `ckpt_name` or UNETLoader `unet_name`), if any.
    public var checkpoint: String?
    /// Estimated work in units (1 unit = one 512×512 sampling step); at least 1 per prompt.
    public var work: Double
    /// What kind of workflow this is, for learning run times beyond `work` (`RunTimeModel`): the checkpoint and the
    /// sorted class types; nil = not known (the work is taken as it is).
    public var shape: String?
    /// VRAM in bytes the job needs if known (learned later); nil = unknown, not checked.
    public var vramNeeded: Int64?
    /// Files the job reads; a node that lacks some pays their transfer before it can start.
    public var files: [FileNeed]
    /// Ids of the prompt's sampler nodes, whose steps are the work; empty = the work is only the 1-unit floor (a
    /// workflow without a sampler), so its run time says nothing about a GPU's speed.
    public var samplerNodes: [String] = []
    /// How far off run-time predictions for this job's shape have been (|predicted ÷ measured − 1|); nil = exact (a
    /// simulation that knows the work). The scheduler holds the job back for a busier node only when the predicted
    /// gain beats this share of that node's predicted finish.
    public var runTimeError: Double?
    /// Nodes the job must not go to again (it was running there when the node died or overran its time).
    public var excludedNodes: Set<String> = []

    public init(
        classTypes: Set<String> = [],
        choices: [Choice] = [],
        checkpoint: String? = nil,
        work: Double = 1,
        vramNeeded: Int64? = nil,
        files: [FileNeed] = [],
        shape: String? = nil
    ) {
        self.shape = shape
        self.files = files
        self.classTypes = classTypes
        self.choices = choices
        self.checkpoint = checkpoint
        self.work = work
        self.vramNeeded = vramNeeded
    }
}

/// The decision for one job: the chosen node (nil = wait) and every candidate's reason.
public struct Placement: Sendable, Hashable, Codable {
    public var node: String?
    /// One per node, in the order the nodes were given.
    public var candidates: [Candidate]
    /// Nodes that could run the job at all (class types, combo values, VRAM), whatever their health, drain or room:
    /// if empty the job can never run on the current fleet.
    public var capableNodes: [String]
    /// The full node the job is held back for (only with `SchedulerKnobs.waitForFullNodeGainSeconds`); nil otherwise.
    public var waitingFor: String?
    /// How far off run-time predictions for jobs of this workflow shape have been (|predicted ÷ measured − 1|, a
    /// moving mean; `RunTimeModel`), as the error estimate of the candidates' predictions; nil before one ran.
    public var runTimeError: Double?
    /// Set when the job was held back for a busier node although another could have started it: why, in words.
    public var heldBack: String?

    public init(node: String?, candidates: [Candidate], capableNodes: [String], waitingFor: String? = nil) {
        self.node = node
        self.candidates = candidates
        self.capableNodes = capableNodes
        self.waitingFor = waitingFor
    }
}

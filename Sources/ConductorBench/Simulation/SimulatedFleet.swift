/// The simulated fleet: node speeds, checkpoint swap cost and how many prompts a node may hold.
public struct SimulatedFleet: Sendable, Hashable {
    /// Work units per second of each node.
    public var speeds: [Double]
    /// Seconds to load a checkpoint that is not the resident one (each node holds one at a time).
    public var swapSeconds: Double
    /// Prompts a node may hold at once (running + waiting) under Conductor; other policies ignore it.
    public var maxOutstanding: Int
    /// Seconds to apply a LoRA other than the node's last one (the scheduler is not told about LoRAs).
    public var loraSeconds = 0.0
    /// Spans in which a node takes no new work (it finishes what it holds): a node that joins mid-trace is out from 0,
    /// a node that leaves is out until infinity.
    public var outages: [Outage] = []

    public struct Outage: Sendable, Hashable {
        public var node: Int
        public var from: Double
        public var until: Double

        public init(node: Int, from: Double, until: Double = .infinity) {
            self.node = node
            self.from = from
            self.until = until
        }
    }

    public init(speeds: [Double], swapSeconds: Double = 0, maxOutstanding: Int = 2) {
        self.speeds = speeds
        self.swapSeconds = swapSeconds
        self.maxOutstanding = maxOutstanding
    }

    /// P6's fleet: 8 nodes with speeds 1, 1, 0.7, 0.7, 0.5, 0.5, 0.35, 0.35.
    public static func p6(swapSeconds: Double) -> SimulatedFleet {
        SimulatedFleet(speeds: [1, 1, 0.7, 0.7, 0.5, 0.5, 0.35, 0.35], swapSeconds: swapSeconds)
    }

    public var totalSpeed: Double { speeds.reduce(0, +) }
}

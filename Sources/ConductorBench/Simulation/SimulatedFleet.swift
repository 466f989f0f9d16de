/// The simulated fleet: node speeds, checkpoint swap cost and how many prompts a node may hold.
public struct SimulatedFleet: Sendable, Hashable {
    /// Work units per second of each node.
    public var speeds: [Double]
    /// Seconds to load a checkpoint that is not the resident one (each node holds one at a time).
    public var swapSeconds: Double
    /// Prompts a node may hold at once (running + waiting) under Conductor; other policies ignore it.
    public var maxOutstanding: Int

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

/// An online estimate of a node's speed in work units per second, learned from completed jobs.
///
/// Starts at a declared speed and moves toward measured speeds by an exponentially weighted mean; it also keeps
/// how well it predicted each job before learning from it.
public struct SpeedEstimate: Sendable, Hashable {
    /// Weight of the newest measurement.
    public static let alpha = 0.3

    /// Current estimate; always > 0.
    public private(set) var unitsPerSecond: Double
    /// Completed jobs recorded so far.
    public private(set) var samples: Int = 0
    private var errorSum: Double = 0

    /// Starts at `declared` units per second (1 when the declared speed is not > 0).
    public init(declared unitsPerSecond: Double) {
        self.unitsPerSecond = unitsPerSecond > 0 && unitsPerSecond.isFinite ? unitsPerSecond : 1
    }

    /// Learns from one completed job; ignores measurements that are not positive and finite.
    public mutating func record(work: Double, seconds: Double) {
        guard seconds > 0, seconds.isFinite, work > 0, work.isFinite else { return }
        let predicted = work / unitsPerSecond
        errorSum += abs(predicted - seconds) / seconds
        samples += 1
        unitsPerSecond = Self.alpha * (work / seconds) + (1 - Self.alpha) * unitsPerSecond
    }

    /// Mean absolute relative error of the seconds predicted for each recorded job, before it was recorded;
    /// nil before the first one.
    public var relativeError: Double? { samples > 0 ? errorSum / Double(samples) : nil }
}

/// Seconds a checkpoint load takes on one node: the declared value until loads are observed, then a moving average
/// (the same weight as `SpeedEstimate`).
public struct LoadTimeEstimate: Sendable, Hashable {
    public private(set) var seconds: Double
    public private(set) var samples: Int = 0

    public init(declared seconds: Double) {
        self.seconds = seconds >= 0 && seconds.isFinite ? seconds : 0
    }

    /// Learns from one observed load; ignores values that are negative or not finite.
    public mutating func record(_ observed: Double) {
        guard observed >= 0, observed.isFinite else { return }
        samples += 1
        seconds = SpeedEstimate.alpha * observed + (1 - SpeedEstimate.alpha) * seconds
    }
}

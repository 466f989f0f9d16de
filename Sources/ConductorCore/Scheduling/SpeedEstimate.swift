/// An online estimate of a node's speed in work units per second, learned from completed jobs.
///
/// Starts at a declared speed; its first measurement replaces it, later ones are averaged in (a plain mean, then an
/// exponentially weighted one); it also keeps
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

    /// Learns from one completed job; ignores measurements that are not positive and finite. `prior` replaces the
    /// declared speed as the starting point of a node's first measurement (the speed the scheduler assumed for it).
    public mutating func record(work: Double, seconds: Double, prior: Double? = nil) {
        guard seconds > 0, seconds.isFinite, work > 0, work.isFinite else { return }
        if samples == 0, let prior, prior > 0, prior.isFinite { unitsPerSecond = prior }
        let predicted = work / unitsPerSecond
        errorSum += abs(predicted - seconds) / seconds
        samples += 1
        // The mean of the measurements so far until there are 1 / alpha of them, then a moving mean: a node measured
        // by three jobs is not still two-thirds the speed it was assumed to have.
        let weight = max(Self.alpha, 1 / Double(samples))
        unitsPerSecond = weight * (work / seconds) + (1 - weight) * unitsPerSecond
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

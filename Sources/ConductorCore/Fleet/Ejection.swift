/// Outlier ejection as plain values: a node that keeps failing (jobs lost with it, prompts or files refused) takes no
/// new work for a while, and the while doubles with each further failure. Times are seconds on the caller's clock.
public struct Ejection: Sendable, Hashable {
    /// Failures in a row; a job that finishes on the node (whatever the workflow's outcome) ends the streak.
    public private(set) var consecutiveFailures = 0
    /// Until when the node is ejected; nil when it is not.
    public private(set) var until: Double?

    public init() {}

    /// Counts a failure at `now`. At `limits.ejectAfterFailures` in a row the node is ejected for
    /// `limits.ejectBaseSeconds`, doubled at each further failure, capped at `limits.ejectMaxSeconds`; returns the
    /// seconds when this failure ejects it.
    @discardableResult
    public mutating func failed(at now: Double, limits: ClusterConfig.Limits) -> Double? {
        consecutiveFailures += 1
        guard consecutiveFailures >= limits.ejectAfterFailures else { return nil }
        let doublings = Double(min(consecutiveFailures - limits.ejectAfterFailures, 30))
        var seconds = limits.ejectBaseSeconds
        for _ in 0..<Int(doublings) { seconds *= 2 }
        seconds = min(limits.ejectMaxSeconds, seconds)
        until = now + seconds
        return seconds
    }

    /// A job finished on the node: the streak ends, and any ejection with it.
    public mutating func succeeded() {
        consecutiveFailures = 0
        until = nil
    }

    public func isEjected(at now: Double) -> Bool { until.map { $0 > now } ?? false }

    /// The nodes ejected at `now`; none when they would be more than `limits.maxEjectedFraction` of the fleet (the
    /// panic threshold: a fleet-wide problem is better met by trying than by stopping).
    public static func ejected(_ nodes: [(name: String, ejection: Ejection)], at now: Double, limits: ClusterConfig.Limits) -> Set<String> {
        let ejected = Set(nodes.filter { $0.ejection.isEjected(at: now) }.map(\.name))
        guard !ejected.isEmpty else { return [] }
        return Double(ejected.count) <= limits.maxEjectedFraction * Double(nodes.count) ? ejected : []
    }
}

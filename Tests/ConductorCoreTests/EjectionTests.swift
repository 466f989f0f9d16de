import ConductorCore
import Testing

/// Outlier ejection on a manual clock (seconds).
@Suite struct EjectionTests {
    static var limits: ClusterConfig.Limits {
        var limits = ClusterConfig.Limits()
        limits.ejectAfterFailures = 3
        limits.ejectBaseSeconds = 10
        limits.ejectMaxSeconds = 35
        limits.maxEjectedFraction = 0.5
        return limits
    }

    @Test func ejectedAtTheThirdFailureInARowForATimeThatDoublesUpToTheCap() {
        var node = Ejection()
        #expect(node.failed(at: 0, limits: Self.limits) == nil)
        #expect(node.failed(at: 1, limits: Self.limits) == nil)
        #expect(!node.isEjected(at: 1))
        #expect(node.failed(at: 2, limits: Self.limits) == 10)
        #expect(node.isEjected(at: 11.9) && !node.isEjected(at: 12))
        #expect(node.failed(at: 20, limits: Self.limits) == 20)
        #expect(node.isEjected(at: 39) && !node.isEjected(at: 40))
        #expect(node.failed(at: 40, limits: Self.limits) == 35, "capped")
    }

    @Test func aFinishedJobEndsTheStreakAndTheEjection() {
        var node = Ejection()
        for second in 0..<3 { node.failed(at: Double(second), limits: Self.limits) }
        #expect(node.isEjected(at: 3))
        node.succeeded()
        #expect(!node.isEjected(at: 3) && node.consecutiveFailures == 0)
        #expect(node.failed(at: 4, limits: Self.limits) == nil, "a new streak starts from zero")
    }

    @Test func pastThePanicThresholdNoNodeIsHeldBack() {
        var bad = Ejection()
        for second in 0..<3 { bad.failed(at: Double(second), limits: Self.limits) }
        let fine = Ejection()
        // One of four ejected: it waits.
        #expect(Ejection.ejected([("a", bad), ("b", fine), ("c", fine), ("d", fine)], at: 3, limits: Self.limits) == ["a"])
        // Three of four would be: a fleet-wide problem, so every node keeps taking work.
        #expect(Ejection.ejected([("a", bad), ("b", bad), ("c", bad), ("d", fine)], at: 3, limits: Self.limits).isEmpty)
        // Once the time is over, none.
        #expect(Ejection.ejected([("a", bad), ("b", fine)], at: 100, limits: Self.limits).isEmpty)
    }
}

import ConductorCore
import Testing

@testable import Conductor

@Suite("Node health with hysteresis")
struct HealthTrackerTests {
    /// Polls (true = answered) and the state after each.
    @Test("health follows polls with hysteresis", arguments: [
        ([true], [NodeHealth.up]),
        ([true, false], [.up, .suspect]),
        ([true, false, true], [.up, .suspect, .up]),
        ([true, false, false, false], [.up, .suspect, .suspect, .down]),
        ([true, false, false, false, true], [.up, .suspect, .suspect, .down, .down]),
        ([true, false, false, false, true, true], [.up, .suspect, .suspect, .down, .down, .up]),
        ([false, false, false, true], [.down, .down, .down, .up]),
    ])
    func sequence(polls: [Bool], expected: [NodeHealth]) {
        var tracker = HealthTracker()
        var states: [NodeHealth] = []
        for poll in polls {
            _ = tracker.record(success: poll)
            states.append(tracker.state)
        }
        #expect(states == expected)
    }

    @Test("a change is reported once, and no report when nothing changed")
    func reportsChangesOnly() {
        var tracker = HealthTracker()
        #expect(tracker.record(success: true) == .up)
        #expect(tracker.record(success: true) == nil)
        #expect(tracker.record(success: false) == .suspect)
        #expect(tracker.record(success: false) == nil)
        #expect(tracker.record(success: false) == .down)
    }
}

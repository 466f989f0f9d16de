import ConductorCore
import Testing

@testable import Conductor

@Suite("Node health with hysteresis")
struct HealthTrackerTests {
    /// Polls (true = answered) and the state after each.
    @Test(
        "health follows polls with hysteresis",
        arguments: [
            ([true], [NodeHealth.up]),
            ([true, false], [.up, .suspect]),
            ([true, false, true], [.up, .suspect, .up]),
            ([true, false, false, false], [.up, .suspect, .suspect, .down]),
            ([true, false, false, false, true], [.up, .suspect, .suspect, .down, .down]),
            ([true, false, false, false, true, true], [.up, .suspect, .suspect, .down, .down, .up]),
            ([false, false, false, true], [.down, .down, .down, .up])
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

/// A node link must stop when Conductor does, even when its socket never answers.
@Suite("node link shutdown")
struct NodeLinkShutdownTests {
    @Test("a cancelled wait returns at once, though the operation it waits for ignores cancellation")
    func untilCancelledReturnsOnCancel() async throws {
        let started = AsyncStream<Void>.makeStream()
        let waiting = Task {
            try await NodeLink.untilCancelled {
                started.continuation.yield()
                // An operation that never ends and does not look at cancellation (a socket stuck in its handshake).
                await withUnsafeContinuation { (_: UnsafeContinuation<Void, Never>) in }
            }
        }
        for await _ in started.stream { break }
        waiting.cancel()
        let outcome = await waiting.result
        #expect(throws: CancellationError.self) { try outcome.get() }
    }

    @Test("an operation that ends passes its outcome through")
    func untilCancelledPassesOutcomes() async throws {
        struct Failed: Error {}
        try await NodeLink.untilCancelled {}
        await #expect(throws: Failed.self) { try await NodeLink.untilCancelled { throw Failed() } }
    }
}

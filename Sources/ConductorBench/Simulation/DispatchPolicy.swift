import ConductorCore

/// How the simulated coordinator places jobs: the baselines, the P6 reference, and Conductor's real scheduler.
public enum DispatchPolicy: Sendable, Hashable {
    /// At arrival, to a node drawn uniformly.
    case random
    /// At arrival, to the shorter queue of two nodes drawn uniformly (without replacement).
    case powerOfTwo
    /// At arrival, to the node with the fewest jobs (ties: first node).
    case shortestQueue
    /// At arrival, to the next node in turn.
    case roundRobin
    /// P6's reference: a freed node takes the oldest job for its resident checkpoint, otherwise switches to the
    /// checkpoint with the most queued work per resident speed, only when that exceeds the swap cost.
    case reference
    /// Conductor: jobs wait in one fleet queue; every event runs a dispatch round of the coordinator's own `FleetStateMachine`.
    case conductor(SchedulerKnobs)
    /// The same scheduler told nothing about checkpoints (no residency, no load cost): affinity off.
    case conductorAffinityOff(SchedulerKnobs)

    public var name: String {
        switch self {
        case .random: "random"
        case .powerOfTwo: "power-of-two"
        case .shortestQueue: "shortest queue"
        case .roundRobin: "round-robin"
        case .reference: "P6 reference"
        case .conductor(let knobs): knobs == .recommended ? "Conductor" : "Conductor (custom knobs)"
        case .conductorAffinityOff: "Conductor, affinity off"
        }
    }

    /// Whether jobs are bound to a node at arrival (node queues unbounded) rather than held in a fleet queue.
    var bindsAtArrival: Bool {
        switch self {
        case .random, .powerOfTwo, .shortestQueue, .roundRobin: true
        case .reference, .conductor, .conductorAffinityOff: false
        }
    }

    /// Whether the coordinator's state machine decides.
    var isConductor: Bool {
        switch self {
        case .conductor, .conductorAffinityOff: true
        default: false
        }
    }
}

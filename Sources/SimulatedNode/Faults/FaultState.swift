/// Faults injected into a simulated node, for the reliability tests: all off by default.
public struct FaultState: Sendable, Equatable {
    /// The next N prompts fail at their first executed node with this message.
    public var failNext = 0
    public var failMessage = "Simulated node failure"
    /// The worker stops making progress (a hung GPU) until cleared.
    public var hang = false
    /// Every HTTP response is delayed by this many real seconds.
    public var responseDelay: Double = 0
    /// WebSocket upgrades are refused (HTTP keeps working), as behind a proxy that lost its WebSocket support.
    public var refuseWebSockets = false
    /// The process is stopped (SIGSTOP, a hung driver, a partition that swallows packets): nothing is answered or
    /// sent and its clock stands still, until thawed with its queue intact.
    public var frozen = false
    /// Requests to these paths (`POST /prompt`, `POST /upload/image`…: method, space, path) are not answered until
    /// cleared, while every other request is.
    public var stalled: Set<String> = []

    public init() {}
}

/// A fault to inject, through `SimulatedNode.inject(_:)` or `POST /sim/faults` when enabled.
public enum Fault: Sendable, Equatable {
    /// The next `count` prompts end in `execution_error` (a node raising).
    case failNextPrompts(count: Int, message: String)
    /// The running prompt stops progressing; `false` resumes it.
    case hang(Bool)
    /// The process dies and comes back after `downSeconds`: sockets closed, connections refused
    /// meanwhile, queue, history and VRAM forgotten, temp files deleted.
    case crashAndRestart(downSeconds: Double)
    /// Every WebSocket is closed; the server keeps running.
    case dropWebSockets
    /// Every WebSocket is closed and new ones refused while on; HTTP keeps working. `false` accepts them again.
    case refuseWebSockets(Bool)
    /// The process stops as under SIGSTOP: connections stay open, nothing is answered or sent, the running prompt
    /// makes no progress. `false` thaws it: it carries on where it was, queue intact.
    case freeze(Bool)
    /// Every HTTP response waits this many seconds first (0 clears it).
    case slowResponses(seconds: Double)
    /// Requests to these routes (`"POST /prompt"`, `"POST /upload/image"`, `"GET /history/*"` for every path under
    /// it) hang, unanswered, until cleared with an empty list; the node answers everything else (a disk or a custom
    /// node stuck on one route).
    case stallRequests([String])
    /// The listener closes for `seconds` (connections refused); state is kept.
    case refuseConnections(seconds: Double)
}

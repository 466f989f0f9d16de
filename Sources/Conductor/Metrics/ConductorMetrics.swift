import Prometheus
import Synchronization

/// Conductor's Prometheus metrics, in a registry of its own (no global bootstrap, so several Conductors in one
/// process, as in the tests, keep separate books). `/metrics` serves `exposition()`.
public final class ConductorMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let queueWait: DurationHistogram
    let dispatchDecision: DurationHistogram
    let bytesMoved: Counter
    /// The total `bytesMoved` was last brought up to (Prometheus counters only go up, by increments).
    private let bytesReported = Mutex<Int64>(0)
    let webSocketClients: Gauge
    let webSocketsCutOff: Counter
    let httpConnections: Gauge
    let connectionLimitReached: Counter
    let connectionsTimedOut: Counter

    /// Seconds from 5 ms to 2 h: queue waits and job runs span all of it.
    static let longBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(600),
        .seconds(1800), .seconds(3600), .seconds(7200)
    ]
    /// Microseconds to a second: a scheduling decision or an HTTP answer.
    static let shortBuckets: [Duration] = [
        .microseconds(10), .microseconds(50), .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5),
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5)
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        queueWait = registry.makeDurationHistogram(
            descriptor: Self.name("queue_wait", "seconds", "Time from a prompt's submission to its start on a node."),
            buckets: Self.longBuckets)
        dispatchDecision = registry.makeDurationHistogram(
            descriptor: Self.name("dispatch_decision", "seconds", "Time the scheduler took to place the waiting jobs in one dispatch pass."),
            buckets: Self.shortBuckets)
        bytesMoved = registry.makeCounter(
            descriptor: Self.name(
                "bytes_moved", "total", "Bytes Conductor moved between itself and nodes for jobs (outputs fetched, copies delivered)."))
        webSocketClients = registry.makeGauge(descriptor: Self.name("websocket_clients", "", "Client WebSockets connected to Conductor."))
        webSocketsCutOff = registry.makeCounter(
            descriptor: Self.name(
                "websocket_cut_off", "total", "Client WebSockets closed because they stopped reading (limits.clientBufferBytes)."))
        httpConnections = registry.makeGauge(descriptor: Self.name("http_connections", "", "Client connections open to Conductor."))
        connectionLimitReached = registry.makeCounter(
            descriptor: Self.name(
                "connection_limit_reached", "total", "Times the open connections reached limits.maxConnections (new ones then wait)."))
        connectionsTimedOut = registry.makeCounter(
            descriptor: Self.name(
                "connections_timed_out", "total", "Connections closed for not sending a whole request head in limits.headerTimeoutSeconds."))
    }

    static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "conductor", metricName: name, unitName: unit, helpText: help)
    }

    /// The text exposition format (`text/plain; version=0.0.4`).
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    func recordQueueWait(_ duration: Duration) { queueWait.record(duration) }

    /// One dispatch pass's scheduling time (`Scheduler.assign`), without the sending that follows it.
    public func recordDispatchDecision(_ duration: Duration) { dispatchDecision.record(duration) }

    /// A job ended on `node`: its run time (from the node's own timestamps) by node and checkpoint, and its outcome.
    func recordJob(node: String, checkpoint: String?, status: String, duration: Duration?) {
        registry.makeCounter(
            descriptor: Self.name("jobs_finished", "total", "Jobs that ended, by node and outcome (success, failed, interrupted)."),
            labels: [("node", node), ("status", status)]
        ).increment()
        guard let duration else { return }
        registry.makeDurationHistogram(
            descriptor: Self.name("job_duration", "seconds", "Run time of successful jobs on their node, by node and checkpoint."),
            labels: [("node", node), ("checkpoint", checkpoint ?? "")], buckets: Self.longBuckets
        ).record(duration)
    }

    /// A prompt found on a node that Conductor no longer expects there (moved, completed, cancelled) was removed:
    /// deleted from its queue (`waiting`) or interrupted (`running`).
    func recordDroppedNodeEvent(node: String) {
        registry.makeCounter(
            descriptor: Self.name(
                "node_events_dropped", "total",
                "Events of a node dropped while too many waited behind a finalize on it, by node."),
            labels: [("node", node)]
        ).increment()
    }

    func recordRemovedPrompt(node: String, state: String) {
        registry.makeCounter(
            descriptor: Self.name(
                "node_prompts_removed", "total",
                "Prompts removed from a node that Conductor no longer expected there, by node and state."),
            labels: [("node", node), ("state", state)]
        ).increment()
    }

    /// A job ran with a checkpoint other than the one its node last held.
    func recordCheckpointSwap(node: String) {
        registry.makeCounter(
            descriptor: Self.name("checkpoint_swaps", "total", "Jobs that made their node load a checkpoint it did not hold."),
            labels: [("node", node)]
        ).increment()
    }

    /// Queue depth by state: queued in Conductor, dispatched (waiting on a node), running.
    func setQueue(queued: Int, dispatched: Int, running: Int) {
        for (state, count) in [("queued", queued), ("dispatched", dispatched), ("running", running)] {
            registry.makeGauge(descriptor: Self.name("queue_jobs", "", "Unfinished jobs, by state."), labels: [("state", state)])
                .set(to: Double(count))
        }
    }

    /// One node's state as seen now: health (1 for its current state, 0 for the others), drain and VRAM.
    func setNode(_ name: String, health: String, draining: Bool, vramUsed: Int64, vramTotal: Int64, outstanding: Int) {
        for state in ["up", "suspect", "down"] {
            registry.makeGauge(
                descriptor: Self.name("node_health", "", "1 for the node's health state, 0 for the others."),
                labels: [("node", name), ("state", state)]
            )
            .set(to: state == health ? 1 : 0)
        }
        registry.makeGauge(descriptor: Self.name("node_draining", "", "1 while the node is drained (takes no new jobs)."), labels: [("node", name)])
            .set(to: draining ? 1 : 0)
        registry.makeGauge(descriptor: Self.name("node_vram_used", "bytes", "VRAM in use on the node's first device."), labels: [("node", name)])
            .set(to: Double(vramUsed))
        registry.makeGauge(descriptor: Self.name("node_vram_total", "bytes", "VRAM of the node's first device."), labels: [("node", name)])
            .set(to: Double(vramTotal))
        registry.makeGauge(
            descriptor: Self.name("node_outstanding_jobs", "", "Jobs on the node (waiting there or running)."), labels: [("node", name)]
        )
        .set(to: Double(outstanding))
    }

    func recordWebSocketCutOff() { webSocketsCutOff.increment() }

    func setWebSocketClients(_ count: Int) { webSocketClients.set(to: Double(count)) }

    /// Brings the bytes-moved counter up to the coordinator's running total.
    func setBytesMoved(_ total: Int64) {
        let increment = bytesReported.withLock { reported in
            defer { reported = max(reported, total) }
            return max(0, total - reported)
        }
        if increment > 0 { bytesMoved.increment(by: increment) }
    }

    /// An HTTP request answered: its route pattern, method, status and time to the end of its body.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: Self.name(
                "http_request_duration", "seconds", "HTTP requests by route, method and status, timed to the end of the response body."),
            labels: [("route", route), ("method", method), ("status", String(status))], buckets: Self.shortBuckets
        ).record(duration)
    }
}

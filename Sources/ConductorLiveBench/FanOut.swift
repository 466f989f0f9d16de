import AsyncHTTPClient
import ComfyWire
import ConductorBench
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import SimulatedNode
import Synchronization

/// P3 of bench-scenarios.md: WebSocket fan-out. Simulated nodes run in this process so that a message's send time on
/// the node and its receive time at a client are read from one clock; Conductor runs in its own process.
///
/// Every client owns one job (it connects, then submits); each node runs its jobs one at a time, as ComfyUI does, at
/// 20 sampler steps per second with a 50 KB preview every 10 steps, so it sends 20 `progress` and 2 previews a second.
/// The watchers own no job and hear what every client hears (status broadcasts). The same clients and jobs run
/// straight against the nodes (the baseline: ComfyUI fanning out to its own clients), then through Conductor twice with
/// one more client that owns `stalledJobs` jobs: once reading, once never reading. The two Conductor runs carry the
/// same traffic, so their difference is what a client that stops reading costs the others.
public struct FanOutBench: Sendable {
    public var executable: String
    public var directory: URL
    public var clients = 1000
    public var watchers = 10
    public var nodes = 8
    public var stalledJobs = 250
    /// Alternated pairs of Conductor runs (extra client reading, then not reading).
    public var rounds = 3

    /// The extra client of a run through Conductor.
    enum Extra: Sendable {
        case none, reading, stalled
    }
    /// A run that has not heard every job end by then stops, and counts what is missing as lost.
    public var timeoutSeconds = 600.0

    public init(executable: String, directory: URL) {
        self.executable = executable
        self.directory = directory
    }

    static let checkpoint = "fanout.safetensors"
    static let steps = 10
    static let previewBytes = 50_000

    /// 64×64 latents: a step is 1/64 simulated second at speed 1, so a time scale of 3.2 makes it 50 ms.
    static func profile(_ name: String) -> NodeProfile {
        var profile = NodeProfile.example
        profile.name = name
        profile.timeScale = 3.2
        profile.previewEverySteps = 10
        profile.previewBytes = previewBytes
        profile.checkpoints = [.init(name: checkpoint, sizeBytes: 50_000_000)]
        return profile
    }

    static func prompt(seed: Int) -> JSONValue {
        LiveBench.prompt(checkpoint: checkpoint, steps: steps, size: 64, seed: seed)
    }

    public func run() async throws -> BenchReport {
        try? FileManager.default.removeItem(at: directory)
        let sendTimes = SendTimes()
        pinSelf(toCPU: 0)
        let http = LiveBench.client(connections: 64)
        do {
            let report = try await withNodes(sendTimes: sendTimes) { ports in try await run(nodePorts: ports, sendTimes: sendTimes, http: http) }
            try await http.shutdown()
            return report
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    func run(nodePorts ports: [Int], sendTimes: SendTimes, http: HTTPClient) async throws -> BenchReport {
        let load = LoadGenerator(http: http)
        let nodeURLs = ports.map { "http://127.0.0.1:\($0)" }
        let direct = try await runOnce(
            label: "direct to the nodes", submitTo: { nodeURLs[$0 % nodeURLs.count] }, extra: .none,
            sendTimes: sendTimes, load: load, conductor: nil)
        let setup = try await startConductor(nodeURLs: nodeURLs, load: load)
        defer { setup.process.stop() }
        var pairs: [(reading: Run, stalled: Run)] = []
        for round in 1...max(1, rounds) {
            let reading = try await runOnce(
                label: "round \(round): through Conductor, +1 client with \(stalledJobs) jobs reading",
                submitTo: { _ in setup.url }, extra: .reading, sendTimes: sendTimes, load: load, conductor: setup.process)
            let stalled = try await runOnce(
                label: "round \(round): through Conductor, +1 client with \(stalledJobs) jobs not reading",
                submitTo: { _ in setup.url }, extra: .stalled, sendTimes: sendTimes, load: load, conductor: setup.process)
            pairs.append((reading, stalled))
        }
        let cutOff =
            (try? await LiveBench.text(setup.url + "/metrics", load))?.split(separator: "\n")
            .first { $0.hasPrefix("conductor_websocket_cut_off_total ") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        return report(direct: direct, pairs: pairs, cutOff: Int(cutOff))
    }

    // MARK: Nodes and Conductor

    /// Runs `nodes` simulated nodes, each telling `sendTimes` what it sends, for the duration of `body`.
    func withNodes<T: Sendable>(
        from index: Int = 0, ports: [Int] = [], sendTimes: SendTimes,
        _ body: @escaping @Sendable ([Int]) async throws -> T
    ) async throws -> T {
        guard index < nodes else { return try await body(ports) }
        var logger = Logger(label: "bench.sim-node")
        logger.logLevel = .error
        return try await SimulatedNode.withRunning(
            profile: Self.profile("fan-\(index)"), directory: directory.appendingPathComponent("node-\(index)"),
            logger: logger
        ) { node, port in
            await node.observeSent { sendTimes.noteSent($0) }
            return try await withNodes(from: index + 1, ports: ports + [port], sendTimes: sendTimes, body)
        }
    }

    func startConductor(nodeURLs: [String], load: LoadGenerator) async throws -> (process: LiveProcess, url: String) {
        let cluster: JSONValue = [
            "nodes": .array(nodeURLs.enumerated().map { ["name": .string("fan-\($0.offset)"), "url": .string($0.element)] }),
            "dataDirectory": .string(directory.appendingPathComponent("conductor").path), "listen": ["host": "127.0.0.1", "port": 0]
        ]
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configFile = directory.appendingPathComponent("cluster.json")
        try Data(cluster.serialized(.compact)).write(to: configFile)
        let (process, url) = try await LiveSetup.startConductor(executable: executable, configFile: configFile, pinned: true)
        for _ in 0..<1500 {
            let devices = (try? await LiveBench.json(url + "/system_stats", load))?["devices"]?.arrayValue?.count
            if devices == nodeURLs.count, (try? await load.send(.GET, url + "/readyz")) != nil { return (process, url) }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.stop()
        throw LiveBenchError("Conductor did not see the \(nodeURLs.count) nodes: \(process.text.suffix(2000))")
    }

    /// Keeps this process (nodes and clients) off the CPU Conductor is pinned to, so each has a core.
    func pinSelf(toCPU cpu: Int) {
        let taskset = "/usr/bin/taskset"
        guard FileManager.default.isExecutableFile(atPath: taskset) else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: taskset)
        process.arguments = ["-a", "-p", "-c", "\(cpu)", "\(ProcessInfo.processInfo.processIdentifier)"]
        process.standardOutput = FileHandle.nullDevice
        try? process.run()
        process.waitUntilExit()
    }

    // MARK: One run

    struct Run: Sendable {
        var label: String
        /// Node send → client receive, ms, by kind: progress, preview, terminal (`execution_success`, `executing` null).
        var latencies: [String: [Double]]
        /// Messages of the clients' own jobs the nodes sent, and those no client received, by kind.
        var sent: [String: Int]
        var lost: [String: Int]
        var terminalSent: Int { sent["terminal", default: 0] }
        var terminalLost: Int { lost["terminal", default: 0] }
        var seconds: Double
        var rssGrowth: Int64?
        var all: [Double] { latencies.values.flatMap { $0 } }
    }

    func runOnce(
        label: String, submitTo: @escaping @Sendable (Int) -> String, extra: Extra, sendTimes: SendTimes,
        load: LoadGenerator, conductor: LiveProcess?
    ) async throws -> Run {
        let received = Received()
        let started = ContinuousClock.now
        let baseline = conductor?.residentBytes
        let peak = Peak(baseline ?? 0)
        /// When the last submit was answered: latencies count from then on, in the steady state. (Every accepted
        /// submit is a `status` broadcast to every client, here and on a ComfyUI node alike, so the burst of
        /// 1,000 submits is a burst of a million messages, not the scenario.)
        let submitted = Peak(0)
        // Fresh seeds each run: a node's cache would otherwise skip the sampler of a prompt it ran in an earlier run.
        let seedBase = Int(sendTimes.nextRun()) * 10_000_000
        let jobs = (0..<clients).map { (client: "fan-client-\($0)", id: UUID().uuidString.lowercased(), seed: seedBase + $0) }
        let extraIDs = extra == .none ? [] : (0..<stalledJobs).map { _ in UUID().uuidString.lowercased() }
        let wsURL: @Sendable (Int) -> String = { index in submitTo(index).replacingOccurrences(of: "http://", with: "ws://") }
        // Sockets that do not end by themselves (watchers, the stalled client) close when the run is over: their
        // handlers return, so each closes with a handshake rather than by cancellation.
        let stops = (0..<(watchers + 1)).map { _ in AsyncStream<Void>.makeStream() }
        defer { for stop in stops { stop.continuation.finish() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (opened, open) = AsyncStream<Void>.makeStream()
            for (index, job) in jobs.enumerated() {
                group.addTask {
                    try await Self.listen(
                        url: wsURL(index) + "/ws?clientId=\(job.client)", expecting: [job.id], received: received, opened: open,
                        stop: nil)
                }
            }
            for index in 0..<watchers {
                group.addTask {
                    try await Self.listen(
                        url: wsURL(index) + "/ws?clientId=fan-watcher-\(index)", expecting: [], received: received, opened: open,
                        stop: stops[index].stream)
                }
            }
            switch extra {
            case .none: break
            case .reading:
                group.addTask {
                    try await Self.listen(
                        url: wsURL(0) + "/ws?clientId=fan-extra", expecting: [], received: received, opened: open,
                        stop: stops[watchers].stream)
                }
            case .stalled:
                group.addTask { try await Self.stall(url: wsURL(0) + "/ws?clientId=fan-extra", opened: open, stop: stops[watchers].stream) }
            }
            var count = 0
            for await _ in opened {
                count += 1
                if count == jobs.count + watchers + (extra == .none ? 0 : 1) { break }
            }
            group.addTask {
                // Submit every job (the extra client's interleaved), 64 at a time.
                var bodies: [(Int, [UInt8])] = jobs.enumerated().map { index, job in
                    (
                        index,
                        JSONValue.object(["prompt": Self.prompt(seed: job.seed), "client_id": .string(job.client), "prompt_id": .string(job.id)])
                            .serialized(.compact)
                    )
                }
                // The extra client's jobs jump the queue (`front`): with fair shares they would otherwise run one per
                // round of the 1,000 clients', mostly after the measured window, and a stalled socket would never fill.
                for (n, id) in extraIDs.enumerated() {
                    let body = JSONValue.object([
                        "prompt": Self.prompt(seed: seedBase + 5_000_000 + n), "client_id": "fan-extra", "prompt_id": .string(id),
                        "front": true
                    ])
                    bodies.insert((0, body.serialized(.compact)), at: min(bodies.count, n * max(1, jobs.count / max(1, extraIDs.count))))
                }
                try await withThrowingTaskGroup(of: Void.self) { submits in
                    for (n, (index, body)) in bodies.enumerated() {
                        if n >= 64 { try await submits.next() }
                        submits.addTask { try await load.send(.POST, submitTo(index) + "/prompt", body: body) }
                    }
                    try await submits.waitForAll()
                }
                submitted.note(Int64(DispatchTime.now().uptimeNanoseconds))
            }
            group.addTask {
                while ContinuousClock.now - started < .seconds(timeoutSeconds), received.finishedClients < jobs.count {
                    if let rss = conductor?.residentBytes { peak.note(rss) }
                    try await Task.sleep(for: .milliseconds(200))
                }
                throw RunOver()
            }
            do {
                while try await group.next() != nil {}  // not waitForAll(): it would wait for the watchers before throwing
            } catch is RunOver {
                for stop in stops { stop.continuation.finish() }
                try await group.waitForAll()
            }
        }
        let seconds = milliseconds(ContinuousClock.now - started) / 1000
        let sent = sendTimes.snapshot
        func kind(_ key: String) -> String { key.hasPrefix("p|") ? "progress" : key.hasPrefix("v|") ? "preview" : "terminal" }
        var latencies: [String: [Double]] = [:]
        var heard = Set<String>()
        for (key, at) in received.snapshot {
            heard.insert(key)
            guard let sentAt = sent[key], Int64(sentAt) > submitted.value else { continue }
            latencies[kind(key), default: []].append(Double(Int64(at) - Int64(sentAt)) / 1e6)
        }
        let owned = Set(jobs.map(\.id))
        var sentCount: [String: Int] = [:]
        var lost: [String: Int] = [:]
        for key in sent.keys where owned.contains(String(key.split(separator: "|")[1])) {
            sentCount[kind(key), default: 0] += 1
            if !heard.contains(key) { lost[kind(key), default: 0] += 1 }
        }
        return Run(
            label: label, latencies: latencies, sent: sentCount, lost: lost, seconds: seconds,
            rssGrowth: baseline.map { peak.value - $0 })
    }

    struct RunOver: Error {}

    /// One client: its socket, reading every frame and timing those of its own jobs, until each has ended.
    static func listen(
        url: String, expecting: Set<String>, received: Received, opened: AsyncStream<Void>.Continuation,
        stop: AsyncStream<Void>?
    ) async throws {
        var logger = Logger(label: "bench.client")
        logger.logLevel = .critical
        _ = try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, outbound, _ in
            let flags: JSONValue = ["type": "feature_flags", "data": ["supports_preview_metadata": true]]
            try await outbound.write(.text(flags.jsonString(.compact)))
            if let stop {
                // No job of its own: read until told to stop.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        var first = true
                        for try await _ in inbound.messages(maxSize: 1 << 24) where first {
                            first = false
                            opened.yield()
                        }
                    }
                    group.addTask { for await _ in stop {} }
                    try await group.next()
                    group.cancelAll()
                }
                return
            }
            var first = true
            var times: [(String, UInt64)] = []
            var previews: [String: Int] = [:]
            var open = expecting
            for try await message in inbound.messages(maxSize: 1 << 24) {
                let now = DispatchTime.now().uptimeNanoseconds
                if first {
                    first = false
                    opened.yield()
                }
                switch message {
                case .text(let text):
                    guard !text.utf8.starts(with: Self.statusPrefix), let json = try? JSONValue(parsing: text),
                        let id = json["data"]?["prompt_id"]?.stringValue, expecting.contains(id)
                    else { continue }
                    switch json["type"]?.stringValue {
                    case "progress": times.append(("p|\(id)|\(json["data"]?["value"]?.intValue ?? -1)", now))
                    case "execution_success": times.append(("s|\(id)", now))
                    case "executing" where json["data"]?["node"] == .null:
                        times.append(("e|\(id)", now))
                        open.remove(id)
                    default: break
                    }
                case .binary(let buffer):
                    guard case .previewImageWithMetadata(let metadata, _)? = try? BinaryFrame(bytes: Array(buffer.readableBytesView)),
                        let id = metadata["prompt_id"]?.stringValue
                    else { continue }
                    previews[id, default: 0] += 1
                    times.append(("v|\(id)|\(previews[id]!)", now))
                }
                if !expecting.isEmpty, open.isEmpty { break }
            }
            received.add(times, finished: !expecting.isEmpty && open.isEmpty)
        }
    }

    static let statusPrefix = Array(#"{"type": "status""#.utf8)

    /// A client that connects, says it takes previews with metadata, and never reads again.
    static func stall(url: String, opened: AsyncStream<Void>.Continuation, stop: AsyncStream<Void>) async throws {
        var logger = Logger(label: "bench.stalled")
        logger.logLevel = .critical
        _ = try? await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 24), logger: logger) { _, outbound, _ in
            let flags: JSONValue = ["type": "feature_flags", "data": ["supports_preview_metadata": true]]
            try await outbound.write(.text(flags.jsonString(.compact)))
            opened.yield()
            for await _ in stop {}
        }
    }

    // MARK: Report

    func report(direct: Run, pairs: [(reading: Run, stalled: Run)], cutOff: Int) -> BenchReport {
        var report = BenchReport(scenario: "p3", title: "WebSocket fan-out (direct to the nodes vs through Conductor)")
        var table = Table(
            "\(clients) clients with one job each + \(watchers) watchers, \(nodes) nodes × (20 progress + 2 × \(Self.previewBytes / 1000) KB previews)/s; node send → client receive (ms)",
            headers: [
                "run", "messages timed (after the submits)", "median", "p99", "max", "progress p99", "preview p99", "terminal p99",
                "sent (progress / preview / terminal)", "not received", "seconds", "Conductor RSS growth"
            ])
        for run in [direct] + pairs.flatMap({ [$0.reading, $0.stalled] }) {
            let all = Summary(run.all)
            table.rows.append([
                .text(run.label), .number(Double(run.all.count), digits: 0), .number(all.median, digits: 2), .number(all.p99, digits: 2),
                .number(run.all.max() ?? 0, digits: 1),
                .number(Summary(run.latencies["progress"] ?? []).p99, digits: 2), .number(Summary(run.latencies["preview"] ?? []).p99, digits: 2),
                .number(Summary(run.latencies["terminal"] ?? []).p99, digits: 2),
                .text(["progress", "preview", "terminal"].map { "\(run.sent[$0, default: 0])" }.joined(separator: " / ")),
                .text(["progress", "preview", "terminal"].map { "\(run.lost[$0, default: 0])" }.joined(separator: " / ")),
                .number(run.seconds, digits: 1),
                .text(run.rssGrowth.map { "\(fixed(Double($0) / 1_048_576, 1)) MB" } ?? "–")
            ])
        }
        report.tables.append(table)
        // Over rounds: the median of each run's p99 (a ratio of noisy tails holds only over several rounds).
        let readingP99 = Summary(pairs.map { Summary($0.reading.all).p99 }).median
        let stalledP99 = Summary(pairs.map { Summary($0.stalled.all).p99 }).median
        let lost = pairs.reduce(0) { $0 + $1.reading.terminalLost + $1.stalled.terminalLost }
        let sent = pairs.reduce(0) { $0 + $1.reading.terminalSent + $1.stalled.terminalSent }
        report.check(
            "relay p99 ≤ 25 ms (median over rounds)", readingP99 <= 25,
            "\(fixed(readingP99, 2)) ms (direct \(fixed(Summary(direct.all).p99, 2)) ms)")
        report.check("0 lost terminal events", lost == 0, "\(lost) of \(sent)")
        report.check(
            "a client that stops reading raises the others' p99 by ≤ 5 ms (vs the same traffic read; medians over rounds)",
            stalledP99 - readingP99 <= 5, "\(fixed(stalledP99 - readingP99, 2)) ms (\(fixed(readingP99, 2)) → \(fixed(stalledP99, 2)))")
        report.check("… and is cut off past the buffer cap", cutOff >= pairs.count, "\(cutOff) of \(pairs.count) stalled sockets cut off")
        report.notes.append(
            "Send time: when the simulated node queues the message for its socket (observer in the node, same process and clock as the clients). Conductor pinned to CPU 1, nodes and clients to CPU 0."
        )
        return report
    }
}

/// When each node queued each timed message: `p|id|step`, `v|id|n` (n-th preview), `s|id` (`execution_success`) and
/// `e|id` (`executing` null).
final class SendTimes: Sendable {
    private let state = Mutex<(times: [String: UInt64], previews: [String: Int], run: Int)>(([:], [:], 0))

    /// Forgets what was sent; the number of the run that starts.
    func nextRun() -> Int {
        state.withLock {
            $0 = ([:], [:], $0.run + 1)
            return $0.run
        }
    }

    var snapshot: [String: UInt64] { state.withLock { $0.times } }

    func noteSent(_ sent: SentMessage) {
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { state in
            switch sent {
            case .preview(let id):
                state.previews[id, default: 0] += 1
                state.times["v|\(id)|\(state.previews[id]!)"] = now
            case .message(.progress(let value, _, let id?, _)):
                state.times["p|\(id)|\(value.int ?? -1)"] = now
            case .message(.executionSuccess(let id, _)):
                state.times["s|\(id)"] = now
            case .message(.executing(nil, _, let id?)):
                state.times["e|\(id)"] = now
            default:
                break
            }
        }
    }
}

/// What the clients received, gathered as each one finishes.
final class Received: Sendable {
    private let state = Mutex<(times: [(String, UInt64)], finished: Int)>(([], 0))

    func add(_ times: [(String, UInt64)], finished: Bool) {
        state.withLock {
            $0.times += times
            if finished { $0.finished += 1 }
        }
    }

    var finishedClients: Int { state.withLock { $0.finished } }
    var snapshot: [(String, UInt64)] { state.withLock { $0.times } }
}

/// The largest of the values noted.
final class Peak: Sendable {
    private let state: Mutex<Int64>

    init(_ start: Int64) { state = Mutex(start) }

    func note(_ value: Int64) { state.withLock { $0 = max($0, value) } }

    var value: Int64 { state.withLock { $0 } }
}

import AsyncHTTPClient
import ComfyWire
import Conductor
import ConductorBench
import ConductorCore
import Foundation
import NIOCore
import NIOHTTP1
import SimulatedNode

/// P1, P2 and P4 of bench-scenarios.md, over real HTTP against a simulated node in its own process: direct to the
/// node, through Conductor (its own process), and through nginx when installed, alternated in one run.
public struct LiveBench: Sendable {
    public var executable: String
    public var directory: URL
    public var rate = 1000.0
    public var seconds = 2.0
    public var rounds = 3
    public var historyRows = 1_000_000
    /// p4: also a PostgreSQL store at this URL (a database the benchmark may wipe).
    public var postgresURL: String?

    public init(executable: String, directory: URL) {
        self.executable = executable
        self.directory = directory
    }

    struct Target: Sendable {
        var name: String
        var base: String
    }

    static func client(connections: Int = 256) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    func withSetup<T: Sendable>(pinConductor: Bool, withNginx: Bool = true, _ body: (LiveSetup, LoadGenerator) async throws -> T) async throws -> T {
        let http = Self.client()
        let load = LoadGenerator(http: http)
        let probe: (String) async -> Bool = { url in (try? await load.send(.GET, url)) != nil }
        try? FileManager.default.removeItem(at: directory)
        let setup = try await LiveSetup.start(
            executable: executable, directory: directory, pinConductor: pinConductor,
            withNginx: withNginx, probe: probe)
        do {
            let result = try await body(setup, load)
            setup.stop()
            try await http.shutdown()
            return result
        } catch {
            setup.stop()
            try? await http.shutdown()
            throw error
        }
    }

    /// A KSampler → SaveImage prompt of about 2 KB for the simulated node's first checkpoint.
    static var prompt: JSONValue {
        prompt(checkpoint: NodeProfile.example.checkpoints.first?.name ?? "v1-5-pruned-emaonly.safetensors", steps: 4, size: 64, seed: 1)
    }

    static func prompt(checkpoint: String, steps: Int, size: Int, seed: Int) -> JSONValue {
        let text = String(repeating: "a watercolour lighthouse on a cliff at dawn, soft light, ", count: 22)
        return [
            "3": [
                "class_type": "KSampler",
                "inputs": [
                    "seed": .int(seed), "steps": .int(steps), "cfg": 8, "sampler_name": "euler", "scheduler": "normal", "denoise": 1,
                    "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]
                ]
            ],
            "4": ["class_type": "CheckpointLoaderSimple", "inputs": ["ckpt_name": .string(checkpoint)]],
            "5": ["class_type": "EmptyLatentImage", "inputs": ["width": .int(size), "height": .int(size), "batch_size": 1]],
            "6": ["class_type": "CLIPTextEncode", "inputs": ["text": .string(text), "clip": ["4", 1]]],
            "7": ["class_type": "CLIPTextEncode", "inputs": ["text": "blurry", "clip": ["4", 1]]],
            "8": ["class_type": "VAEDecode", "inputs": ["samples": ["3", 0], "vae": ["4", 2]]],
            "9": ["class_type": "SaveImage", "inputs": ["filename_prefix": "bench", "images": ["8", 0]]]
        ]
    }

    static func submitBody(_ id: String? = nil) -> [UInt8] {
        var body: JSONObject = ["prompt": prompt, "client_id": "bench"]
        if let id { body["prompt_id"] = .string(id) }
        return JSONValue.object(body).serialized(.compact)
    }

    /// Submits the prompt and waits until `base`'s history has it.
    static func finishedPrompt(at base: String, _ load: LoadGenerator) async throws -> String {
        let id = UUID().uuidString.lowercased()
        try await load.send(.POST, base + "/prompt", body: submitBody(id))
        for _ in 0..<1000 {
            if try await Self.json(base + "/history/\(id)", load)[id] != nil { return id }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw LiveBenchError("\(base): the prompt did not finish")
    }

    static func fault(_ setup: LiveSetup, _ load: LoadGenerator, hang: Bool) async throws {
        try await load.send(.POST, setup.nodeURL + "/sim/faults", body: (["fault": "hang", "on": .bool(hang)] as JSONValue).serialized(.compact))
    }

    static func clearQueues(_ setup: LiveSetup, _ load: LoadGenerator) async throws {
        let clear = (["clear": true] as JSONValue).serialized(.compact)
        try await load.send(.POST, setup.conductorURL + "/queue", body: clear)
        try await load.send(.POST, setup.nodeURL + "/queue", body: clear)
        try await load.send(.POST, setup.nodeURL + "/interrupt", body: Array("{}".utf8))
    }

    static func targets(_ setup: LiveSetup) -> [Target] {
        [Target(name: "direct", base: setup.nodeURL), Target(name: "Conductor", base: setup.conductorURL)]
            + (setup.nginxURL.map { [Target(name: "nginx", base: $0)] } ?? [])
    }

    // MARK: P1

    public func p1() async throws -> BenchReport {
        try await withSetup(pinConductor: true) { setup, load in
            var report = BenchReport(scenario: "p1", title: "Proxy overhead (direct vs through Conductor vs nginx)")
            let targets = Self.targets(setup)
            let nodeID = try await Self.finishedPrompt(at: setup.nodeURL, load)
            let conductorID = try await Self.finishedPrompt(at: setup.conductorURL, load)
            let small = PNG.encode(RasterImage(width: 64, height: 64, channels: 3, pixels: (0..<(64 * 64 * 3)).map { UInt8($0 % 251) }))
            try Data(small).write(to: setup.nodeDirectory.appendingPathComponent("output/bench-small.png"))
            struct Kind: Sendable {
                var label: String
                var method: HTTPMethod
                var path: @Sendable (String) -> String
                var body: [UInt8]?
            }
            let subfolder = LiveSetup.nodeName
            let kinds = [
                Kind(label: "GET /system_stats", method: .GET, path: { _ in "/system_stats" }),
                Kind(label: "GET /history/{id}", method: .GET, path: { $0 == "Conductor" ? "/history/\(conductorID)" : "/history/\(nodeID)" }),
                Kind(
                    label: "GET /view (\(small.count) B PNG)", method: .GET,
                    path: {
                        $0 == "Conductor"
                            ? "/view?filename=bench-small.png&subfolder=\(subfolder)&type=output" : "/view?filename=bench-small.png&type=output"
                    }),
                Kind(label: "POST /prompt (\(Self.submitBody().count) B)", method: .POST, path: { _ in "/prompt" }, body: Self.submitBody())
            ]
            var table = Table(
                "Latency from the intended send time at \(Int(rate)) req/s, \(rounds) alternated rounds of \(fixed(seconds, 0)) s per target (ms)",
                headers: ["request", "target", "median", "p99", "added median", "added p99", "failed"])
            for kind in kinds {
                if kind.method == .POST { try await Self.fault(setup, load, hang: true) }
                var results: [String: LoadGenerator.OpenLoopResult] = [:]
                for _ in 0..<rounds {
                    for target in targets {
                        let url = target.base + kind.path(target.name)
                        let method = kind.method, body = kind.body
                        let result = await LoadGenerator.openLoop(rate: rate, seconds: seconds) { try await load.send(method, url, body: body) }
                        results[target.name, default: .init(latencies: [], failures: 0)].latencies += result.latencies
                        results[target.name, default: .init(latencies: [], failures: 0)].failures += result.failures
                    }
                }
                if kind.method == .POST {
                    try await Self.clearQueues(setup, load)
                    try await Self.fault(setup, load, hang: false)
                }
                let direct = results["direct"]?.summary ?? Summary([])
                for target in targets {
                    guard let result = results[target.name] else { continue }
                    let summary = result.summary
                    let isDirect = target.name == "direct"
                    table.rows.append([
                        .text(kind.label), .text(target.name), .number(summary.median, digits: 3), .number(summary.p99, digits: 3),
                        isDirect ? .text("") : .number(summary.median - direct.median, digits: 3),
                        isDirect ? .text("") : .number(summary.p99 - direct.p99, digits: 3), .text("\(result.failures)")
                    ])
                    if target.name == "Conductor" {
                        let added = (summary.median - direct.median, summary.p99 - direct.p99)
                        report.check(
                            "\(kind.label): added p50 ≤ 0.3 ms, p99 ≤ 1.5 ms", added.0 <= 0.3 && added.1 <= 1.5,
                            "\(fixed(added.0, 3)) / \(fixed(added.1, 3)) ms")
                    }
                }
            }
            report.tables.append(table)
            var saturation = Table(
                "Saturation: 64 workers sending back to back, 2 alternated rounds of 3 s (Conductor on CPU 1 only)",
                headers: ["request", "target", "requests/s", "failed"])
            for (label, path) in [
                ("GET /system_stats", { (_: String) in "/system_stats" }),
                (
                    "GET /view (small PNG)",
                    { (name: String) in
                        name == "Conductor"
                            ? "/view?filename=bench-small.png&subfolder=\(subfolder)&type=output" : "/view?filename=bench-small.png&type=output"
                    }
                )
            ] {
                var rates: [String: [Double]] = [:], failures: [String: Int] = [:]
                for _ in 0..<2 {
                    for target in targets {
                        let url = target.base + path(target.name)
                        let result = await LoadGenerator.closedLoop(workers: 64, seconds: 3) { try await load.send(.GET, url) }
                        rates[target.name, default: []].append(result.perSecond)
                        failures[target.name, default: 0] += result.failures
                    }
                }
                for target in targets {
                    let mean = (rates[target.name] ?? []).reduce(0, +) / Double(max(1, rates[target.name]?.count ?? 1))
                    saturation.rows.append([.text(label), .text(target.name), .number(mean, digits: 0), .text("\(failures[target.name] ?? 0)")])
                    if target.name == "Conductor", label == "GET /system_stats" {
                        report.check("≥ 10,000 small GETs/s with the coordinator on one core", mean >= 10_000, "\(fixed(mean, 0)) req/s")
                    }
                }
            }
            report.tables.append(saturation)
            report.notes.append(
                "The load generator, the simulated node and nginx share this machine's other core (and CPU 1 with Conductor when they overflow): saturation figures are a floor, limited by the generator as much as by the server."
            )
            if setup.nginxURL == nil { report.notes.append("nginx is not installed (apt-get install -y nginx): its rows are skipped.") }
            return report
        }
    }

    // MARK: P2

    public func p2(downloads: Int = 64, megabytes: Int = 25) async throws -> BenchReport {
        try await withSetup(pinConductor: false) { setup, load in
            var report = BenchReport(scenario: "p2", title: "Streaming /view: \(downloads) concurrent downloads of a \(megabytes) MB PNG")
            let side = Int((Double(megabytes * 1_000_000) / 3).squareRoot())
            var random = SplitMix64(seed: 25)
            var pixels = [UInt8](repeating: 0, count: side * side * 3)
            for index in stride(from: 0, to: pixels.count, by: 8) {
                withUnsafeBytes(of: random.next()) { bytes in
                    for offset in 0..<min(8, pixels.count - index) { pixels[index + offset] = bytes[offset] }
                }
            }
            let png = PNG.encode(RasterImage(width: side, height: side, channels: 3, pixels: pixels))
            pixels = []
            try Data(png).write(to: setup.nodeDirectory.appendingPathComponent("output/bench-big.png"))
            let targets = Self.targets(setup)
            struct Round: Sendable {
                var seconds: Double
                var ttfb: [Double]
                var totals: [Double]
                var bytes: Int
                var failures: Int
            }
            func round(_ url: String) async -> Round {
                let start = ContinuousClock.now
                let results = await withTaskGroup(of: (Double, Double, Int)?.self) { group in
                    for _ in 0..<downloads {
                        group.addTask {
                            do {
                                let begun = ContinuousClock.now
                                let response = try await load.http.execute(HTTPClientRequest(url: url), timeout: .seconds(300))
                                let head = milliseconds(ContinuousClock.now - begun)
                                var bytes = 0
                                for try await chunk in response.body { bytes += chunk.readableBytes }
                                guard response.status == .ok else { return nil }
                                return (head, milliseconds(ContinuousClock.now - begun), bytes)
                            } catch {
                                return nil
                            }
                        }
                    }
                    var all: [(Double, Double, Int)?] = []
                    for await result in group { all.append(result) }
                    return all
                }
                let ok = results.compactMap { $0 }
                return Round(
                    seconds: milliseconds(ContinuousClock.now - start) / 1000, ttfb: ok.map(\.0), totals: ok.map(\.1),
                    bytes: ok.reduce(0) { $0 + $1.2 }, failures: results.count - ok.count)
            }
            let baseline = setup.conductor.residentBytes ?? 0
            var peak = baseline
            var rounds: [String: [Round]] = [:]
            for _ in 0..<2 {
                for target in targets {
                    let url =
                        target.base
                        + (target.name == "Conductor"
                            ? "/view?filename=bench-big.png&subfolder=\(LiveSetup.nodeName)&type=output" : "/view?filename=bench-big.png&type=output")
                    let sampler =
                        target.name == "Conductor"
                        ? Task {
                            var top: Int64 = 0
                            while !Task.isCancelled {
                                top = max(top, setup.conductor.residentBytes ?? 0)
                                try? await Task.sleep(for: .milliseconds(10))
                            }
                            return top
                        } : nil
                    let result = await round(url)
                    sampler?.cancel()
                    if let top = await sampler?.value { peak = max(peak, top) }
                    rounds[target.name, default: []].append(result)
                }
            }
            var table = Table(
                "\(downloads) × \(png.count) bytes per round, 2 alternated rounds per target",
                headers: ["target", "throughput MB/s", "TTFB median ms", "TTFB p99 ms", "download median s", "download p99 s", "failed"])
            var throughput: [String: Double] = [:], ttfb: [String: Summary] = [:]
            for target in targets {
                let list = rounds[target.name] ?? []
                let rate = Double(list.reduce(0) { $0 + $1.bytes }) / 1e6 / max(0.001, list.reduce(0) { $0 + $1.seconds })
                let head = Summary(list.flatMap(\.ttfb)), total = Summary(list.flatMap(\.totals).map { $0 / 1000 })
                throughput[target.name] = rate
                ttfb[target.name] = head
                table.rows.append([
                    .text(target.name), .number(rate, digits: 0), .number(head.median, digits: 2), .number(head.p99, digits: 2),
                    .number(total.median, digits: 2), .number(total.p99, digits: 2), .text("\(list.reduce(0) { $0 + $1.failures })")
                ])
            }
            report.tables.append(table)
            let share = (throughput["Conductor"] ?? 0) / max(1, throughput["direct"] ?? 1)
            report.check("≥ 80 % of direct throughput", share >= 0.8, "\(fixed(share * 100, 0)) %")
            let addedTTFB = (ttfb["Conductor"]?.median ?? 0) - (ttfb["direct"]?.median ?? 0)
            report.check("added time to first byte ≤ 2 ms (median)", addedTTFB <= 2, "\(fixed(addedTTFB, 2)) ms")
            let growth = Double(peak - baseline) / 1_048_576
            report.check(
                "coordinator RSS growth ≤ 64 MB", growth <= 64,
                "\(fixed(growth, 1)) MB (\(fixed(Double(baseline) / 1_048_576, 1)) MB before, sampled every 10 ms)")
            report.notes.append("Client, node, Conductor and nginx share the machine's 2 cores; throughput is loopback, limited by CPU.")
            return report
        }
    }

    // MARK: P4

    public func p4() async throws -> BenchReport {
        try await withSetup(pinConductor: false, withNginx: false) { setup, load in
            var report = BenchReport(scenario: "p4", title: "Durable submits and a large history")
            try await Self.fault(setup, load, hang: true)
            var submits = Table(
                "Accepted submits per second: 16 workers posting the 2 KB prompt back to back, 2 alternated rounds of 3 s",
                headers: ["target", "submits/s", "failed"])
            var rates: [String: [Double]] = [:], failures: [String: Int] = [:]
            let body = Self.submitBody()
            for _ in 0..<2 {
                for target in [
                    Target(name: "direct (in-memory queue)", base: setup.nodeURL),
                    Target(name: "Conductor (SQLite WAL, synchronous=FULL)", base: setup.conductorURL)
                ] {
                    let url = target.base + "/prompt"
                    let result = await LoadGenerator.closedLoop(workers: 16, seconds: 3) { try await load.send(.POST, url, body: body) }
                    rates[target.name, default: []].append(result.perSecond)
                    failures[target.name, default: 0] += result.failures
                    try await Self.clearQueues(setup, load)
                }
            }
            var sqliteRate = 0.0
            for (name, list) in rates.sorted(by: { $0.key > $1.key }) {
                let mean = list.reduce(0, +) / Double(list.count)
                submits.rows.append([.text(name), .number(mean, digits: 0), .text("\(failures[name] ?? 0)")])
                if name.hasPrefix("Conductor") {
                    sqliteRate = mean
                    report.check("≥ 1,000 accepted submits/s", mean >= 1000, "\(fixed(mean, 0))/s")
                }
            }
            report.tables.append(submits)
            if let postgresURL {
                try await p4Postgres(postgresURL, setup: setup, load: load, sqliteRate: sqliteRate, into: &report)
            }
            try await Self.fault(setup, load, hang: false)

            // History: seed the store while Conductor is stopped, then restart it on the same data directory.
            setup.conductor.stop()
            let store = try SQLiteStore(path: setup.conductorDirectory.appendingPathComponent("conductor.sqlite").path)
            let (ids, seedSeconds) = try await seedHistory(store)
            let (restarted, readySeconds) = try await setup.restartConductor { url in (try? await load.send(.GET, url + "/readyz")) != nil }
            let (pageSummary, oneSummary) = try await Self.readHistory(restarted.conductorURL, ids: ids, load: load)
            restarted.conductor.stop()
            var history = Table(
                "History with \(historyRows) rows in the store (seeded in \(fixed(seedSeconds, 1)) s); 300 sequential requests each (ms)",
                headers: ["request", "median", "p99"])
            history.rows.append([.text("GET /history?max_items=100"), .number(pageSummary.median, digits: 2), .number(pageSummary.p99, digits: 2)])
            history.rows.append([.text("GET /history/{id}"), .number(oneSummary.median, digits: 2), .number(oneSummary.p99, digits: 2)])
            history.rows.append([.text("kill -9, restart → /readyz 200 (s)"), .number(readySeconds, digits: 2), .text("")])
            report.tables.append(history)
            report.check(
                "history page (max_items=100) ≤ 10 ms, p99", pageSummary.p99 <= 10,
                "\(fixed(pageSummary.p99, 2)) ms (median \(fixed(pageSummary.median, 2)))")
            report.check("ready in < 2 s after kill -9 with the large history", readySeconds < 2, "\(fixed(readySeconds, 2)) s")
            report.notes.append("The direct row is a ComfyUI-like in-memory queue; Conductor commits each submit to SQLite (fsync) before its 200.")
            return report
        }
    }

    /// Seeds `historyRows` finished jobs into a stopped coordinator's store; returns ids spread over them to read back,
    /// and the seconds it took.
    func seedHistory(_ store: any JobStore) async throws -> (ids: [String], seconds: Double) {
        let seeded = ContinuousClock.now
        let entry = try Self.sampleEntry()
        var ids: [String] = []
        let batch = 20_000
        for start in stride(from: 0, to: historyRows, by: batch) {
            let rows = (start..<min(historyRows, start + batch)).map { index in
                (id: "seeded-\(index)", node: Optional(LiveSetup.nodeName), entry: entry, completedAt: Int64(1_700_000_000_000 + index))
            }
            try await store.appendHistory(rows)
            if start % 200_000 == 0 { ids.append("seeded-\(start)") }
        }
        return (ids, milliseconds(ContinuousClock.now - seeded) / 1000)
    }

    /// 300 sequential `GET /history?max_items=100` and `GET /history/{id}` each, in turn (ms).
    static func readHistory(_ base: String, ids: [String], load: LoadGenerator) async throws -> (page: Summary, one: Summary) {
        var page: [Double] = [], one: [Double] = []
        for index in 0..<300 {
            let first = ContinuousClock.now
            try await load.send(.GET, base + "/history?max_items=100")
            page.append(milliseconds(ContinuousClock.now - first))
            let second = ContinuousClock.now
            try await load.send(.GET, base + "/history/\(ids[index % ids.count])")
            one.append(milliseconds(ContinuousClock.now - second))
        }
        return (Summary(page), Summary(one))
    }

    /// A finished job's history entry of realistic size (the 2 KB prompt, one output image, the status messages).
    static func sampleEntry() throws -> HistoryEntry {
        let item: JSONValue = [0, "seeded", prompt, ["client_id": "bench", "create_time": 1_700_000_000_000], ["9"]]
        let json: JSONValue = [
            "prompt": item,
            "outputs": ["9": ["images": [["filename": "bench_00001_.png", "subfolder": .string(LiveSetup.nodeName), "type": "output"]]]],
            "status": [
                "status_str": "success", "completed": true,
                "messages": [
                    ["execution_start", ["prompt_id": "seeded", "timestamp": 1_700_000_000_000]],
                    ["execution_cached", ["nodes": [], "prompt_id": "seeded", "timestamp": 1_700_000_000_001]],
                    ["execution_success", ["prompt_id": "seeded", "timestamp": 1_700_000_004_000]]
                ]
            ],
            "meta": ["9": ["node_id": "9", "display_node": "9", "parent_node": .null, "real_node_id": "9"]]
        ]
        return try HistoryEntry(json: json)
    }
}

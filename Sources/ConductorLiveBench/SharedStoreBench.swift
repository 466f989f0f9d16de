import ComfyWire
import Conductor
import ConductorBench
import ConductorCore
import Foundation
import Logging
import NIOHTTP1
import Synchronization

/// P4 on PostgreSQL (`conductor bench p4 --postgres URL`, a database the benchmark may wipe): submits per second with
/// one coordinator, with two (submits spread over both, and all through the follower), and the history at
/// `historyRows` rows, beside the SQLite rows of the same run.
extension LiveBench {
    func p4Postgres(_ url: String, setup: LiveSetup, load: LoadGenerator, sqliteRate: Double, into report: inout BenchReport) async throws {
        let logger = Logger(label: "bench.postgres")
        let settings = try PostgresSettings(ClusterConfig.Postgres(url: url, poolSize: 10))
        try await PostgresStore.wipe(settings, logger: logger)
        guard case .object(var cluster) = try JSONValue(parsing: Array(try Data(contentsOf: setup.configFile))) else {
            throw LiveBenchError("unreadable cluster.json")
        }
        cluster["store"] = ["postgres": ["url": .string(url), "poolSize": 10]]
        let configFile = directory.appendingPathComponent("cluster-postgres.json")
        try Data(JSONValue.object(cluster).serialized(.compact)).write(to: configFile)
        let leader = try await LiveSetup.startConductor(executable: executable, configFile: configFile, pinned: false)
        defer { leader.process.stop() }
        try await Self.waitUntil { (try? await load.send(.GET, leader.url + "/history?max_items=1")) != nil }
        let body = Self.submitBody()
        var rates: [String: [Double]] = [:], failures: [String: Int] = [:]
        func measure(_ name: String, _ urls: [String]) async throws {
            let counter = RoundRobin(urls.map { $0 + "/prompt" })
            let result = await LoadGenerator.closedLoop(workers: 16, seconds: 3) { try await load.send(.POST, counter.next(), body: body) }
            rates[name, default: []].append(result.perSecond)
            failures[name, default: 0] += result.failures
            for base in urls.prefix(1) { _ = try? await load.send(.POST, base + "/queue", body: Array(#"{"clear": true}"#.utf8)) }
            try await Self.clearQueues(setup, load)
        }
        for _ in 0..<2 { try await measure("PostgreSQL, 1 coordinator", [leader.url]) }
        let follower = try await LiveSetup.startConductor(executable: executable, configFile: configFile, pinned: false)
        defer { follower.process.stop() }
        try await Self.waitUntil { (try? await load.send(.GET, follower.url + "/history?max_items=1")) != nil }
        for _ in 0..<2 {
            try await measure("PostgreSQL, 2 coordinators (submits alternated)", [leader.url, follower.url])
            try await measure("PostgreSQL, 2 coordinators (all through the follower)", [follower.url])
        }
        var table = Table(
            "Accepted submits per second by store: 16 workers, the 2 KB prompt, 2 rounds of 3 s (committed before the 200 in every row)",
            headers: ["store", "submits/s", "failed"])
        table.rows.append([.text("SQLite (this run's rounds above)"), .number(sqliteRate, digits: 0), .text("")])
        for name in [
            "PostgreSQL, 1 coordinator", "PostgreSQL, 2 coordinators (submits alternated)", "PostgreSQL, 2 coordinators (all through the follower)"
        ] {
            let list = rates[name] ?? []
            table.rows.append([.text(name), .number(list.reduce(0, +) / Double(max(1, list.count)), digits: 0), .text("\(failures[name] ?? 0)")])
        }
        report.tables.append(table)
        follower.process.stop()
        leader.process.stop()

        // The history at `historyRows` rows in PostgreSQL, read through a new leader.
        let store = try await PostgresStore(settings, logger: logger)
        let (ids, seedSeconds) = try await seedHistory(store)
        store.close()
        let started = ContinuousClock.now
        let reader = try await LiveSetup.startConductor(executable: executable, configFile: configFile, pinned: false)
        defer { reader.process.stop() }
        // Until it leads, it follows the stopped leader's row for up to 2 s: wait for an answer from the fleet itself.
        try await Self.waitUntil { (try? await load.send(.GET, reader.url + "/history?max_items=1")) != nil }
        let readySeconds = milliseconds(ContinuousClock.now - started) / 1000
        let (pageSummary, oneSummary) = try await Self.readHistory(reader.url, ids: ids, load: load)
        var history = Table(
            "PostgreSQL: history with \(historyRows) rows (seeded in \(fixed(seedSeconds, 1)) s); 300 sequential requests each (ms)",
            headers: ["request", "median", "p99"])
        history.rows.append([.text("GET /history?max_items=100"), .number(pageSummary.median, digits: 2), .number(pageSummary.p99, digits: 2)])
        history.rows.append([.text("GET /history/{id}"), .number(oneSummary.median, digits: 2), .number(oneSummary.p99, digits: 2)])
        history.rows.append([
            .text("start → first /history answer (s; includes the 2 s a new coordinator waits out the old leader's heartbeat)"),
            .number(readySeconds, digits: 2), .text("")
        ])
        report.tables.append(history)
    }

    static func waitUntil(_ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { throw LiveBenchError("not ready within 60 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Hands out URLs in turn to concurrent workers.
final class RoundRobin: Sendable {
    let urls: [String]
    private let counter = Atomic<Int>(0)
    init(_ urls: [String]) { self.urls = urls }
    func next() -> String { urls[counter.add(1, ordering: .relaxed).oldValue % urls.count] }
}

import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import Logging
import Testing

/// One suite for both stores: what the coordinator reads back is what it wrote, in SQLite and in PostgreSQL.
/// PostgreSQL runs are skipped only when no server could be started (the reason is printed by the trait).
@Suite("The store, SQLite and PostgreSQL")
struct StoreTests {
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }

    /// A fresh store of that kind; `reopen` opens the same data again (a restart, or a second coordinator).
    static func withStore<T>(_ backend: Backend, _ body: (any JobStore, () async throws -> any JobStore) async throws -> T) async throws -> T {
        var logger = Logger(label: "test.store")
        logger.logLevel = .warning
        switch backend {
        case .sqlite:
            return try await withTemporaryDirectory { directory in
                let path = directory.appendingPathComponent("conductor.sqlite").path
                return try await body(try SQLiteStore(path: path), { try SQLiteStore(path: path) })
            }
        case .postgres:
            if !TestPostgres.available { print("StoreTests: \(TestPostgres.server.reason)") }
            try #require(TestPostgres.available, "\(TestPostgres.server.reason)")
            let url = try TestPostgres.freshDatabase()
            let settings = try PostgresSettings(ClusterConfig.Postgres(url: url, poolSize: 4))
            let store = try await PostgresStore(settings, logger: logger)
            var opened: [PostgresStore] = [store]
            defer { for store in opened { store.close() } }
            return try await body(
                store,
                {
                    let again = try await PostgresStore(settings, logger: logger)
                    opened.append(again)
                    return again
                })
        }
    }

    static func insert(_ store: any JobStore, _ id: String, number: Int = 0) async throws -> Job {
        try await store.insert(
            id: id, number: JSONNumber(number), clientID: "client-\(id)", principal: "alice",
            prompt: ["1": ["class_type": "KSampler", "inputs": ["seed": 1]]], extraData: ["client_id": .string("client-\(id)")],
            outputs: ["9"], createdAt: 1_000)
    }

    static func entry(_ id: String, status: String = "success") -> HistoryEntry {
        HistoryEntry(
            prompt: QueueItem(number: JSONNumber(0), promptID: id, prompt: [:], extraData: [:], outputsToExecute: []),
            outputs: [:], status: HistoryStatus(statusStr: status, completed: status == "success", messages: []), meta: [:])
    }

    @Test("jobs come back in queue order with every field; a duplicate id fails alone in its batch", arguments: Backend.allCases)
    func queue(_ backend: Backend) async throws {
        try await Self.withStore(backend) { store, reopen in
            let late = try await Self.insert(store, "late", number: 5)
            _ = try await Self.insert(store, "early", number: -1)
            // Three at once go into one batch: the second 'same' fails, the others commit.
            let stored = await withTaskGroup(of: Bool.self) { group in
                for id in ["same", "same", "other"] { group.addTask { (try? await Self.insert(store, id)) != nil } }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(stored == 2, "one of the two 'same' inserts must fail, 'other' must not")
            try await store.update(id: "late", state: .running, node: "gpu-1", placement: #"{"node":"gpu-1"}"#)

            let again = try await reopen()
            let jobs = try await again.activeJobs()
            #expect(jobs.map(\.id) == ["early", "same", "other", "late"])
            let running = try #require(jobs.last)
            #expect(running.sequence == late.sequence)
            #expect(running.state == .running && running.node == "gpu-1" && running.placement == #"{"node":"gpu-1"}"#)
            #expect(running.clientID == "client-late" && running.principal == "alice" && running.outputsToExecute == ["9"])
            #expect(running.prompt["1"]?["class_type"]?.stringValue == "KSampler")
            #expect(try await again.lastSequence() >= late.sequence)
            #expect(try await again.contains(id: "early"))
            #expect(try await !again.contains(id: "never"))
            // Only queued jobs are removed by a delete; the running one stays.
            #expect(try await again.deleteQueued(ids: ["early", "late", "never"]) == ["early"])
            #expect(try await again.activeJobs().map(\.id) == ["same", "other", "late"])
        }
    }

    @Test("a finished job moves to history with its placement; pages read as ComfyUI's", arguments: Backend.allCases)
    func history(_ backend: Backend) async throws {
        try await Self.withStore(backend) { store, reopen in
            for index in 0..<5 {
                _ = try await Self.insert(store, "job\(index)")
                try await store.update(id: "job\(index)", state: .running, node: "gpu-1", placement: #"{"n":\#(index)}"#)
                try await store.complete(id: "job\(index)", node: "gpu-1", entry: Self.entry("job\(index)"), completedAt: 2_000 + Int64(index))
            }
            let again = try await reopen()
            #expect(try await again.activeJobs().isEmpty)
            #expect(try await again.historyPage(maxItems: 2, offset: -1).map(\.0) == ["job3", "job4"])
            #expect(try await again.historyPage(maxItems: 2, offset: 1).map(\.0) == ["job1", "job2"])
            #expect(try await again.historyPage(maxItems: nil, offset: 3).map(\.0) == ["job3", "job4"])
            let body = try JSONValue(parsing: try await again.historyEntryBody(id: "job2"))
            #expect(body["job2"]?["status"]?["status_str"]?.stringValue == "success")
            #expect(try await again.historyEntryBody(id: "nope") == Array("{}".utf8))
            let finished = try #require(try await again.finishedJob(id: "job1"))
            #expect(finished.placement == #"{"n":1}"# && finished.node == "gpu-1" && finished.completedAt == 2_001)
            #expect(try await again.recentlyFinished(limit: 2).map(\.id) == ["job4", "job3"])
            #expect(try await again.historyNode(id: "job0") == "gpu-1")
            try await again.deleteHistory(ids: ["job0", "job4"])
            #expect(try await again.historyPage(maxItems: nil, offset: 0).map(\.0) == ["job1", "job2", "job3"])
            try await again.appendHistory([(id: "imported", node: nil, entry: Self.entry("imported"), completedAt: 9)])
            #expect(try await again.historyPage(maxItems: 1, offset: -1).map(\.0) == ["imported"])
            try await again.clearHistory()
            #expect(try await again.historyPage(maxItems: nil, offset: 0).isEmpty)
            #expect(try await again.contains(id: "job1") == false)
        }
    }

    @Test("the installation id, VRAM needs and the operator's fleet changes survive a reopen", arguments: Backend.allCases)
    func installation(_ backend: Backend) async throws {
        try await Self.withStore(backend) { store, reopen in
            let id = try await store.instanceID()
            try await store.setVRAMNeeds(["big.safetensors": 20 << 30])
            try await store.saveAddedNode(ClusterConfig.Node(name: "b", url: "http://10.0.0.2:8188"))
            try await store.saveDraining("a", true)
            try await store.saveRemovedNode("c")
            let again = try await reopen()
            #expect(try await again.instanceID() == id)
            #expect(try await again.vramNeeds() == ["big.safetensors": 20 << 30])
            let changes = try await again.fleetChanges()
            #expect(changes.map(\.name) == ["b", "a", "c"])
            #expect(changes[0].config?.url == "http://10.0.0.2:8188" && changes[1].draining && changes[2].removed)
            try await again.probeWrite()
        }
    }

    @Test("upload names follow ComfyUI's rules; retention drops the oldest; copies are booked per node", arguments: Backend.allCases)
    func files(_ backend: Backend) async throws {
        try await Self.withStore(backend) { store, reopen in
            let one = Blob(hash: String(repeating: "a", count: 64), size: 10)
            let two = Blob(hash: String(repeating: "b", count: 64), size: 20)
            #expect(try await store.claimName(one, filename: "x.png", subfolder: "", kind: .input, overwrite: false).name == "x.png")
            #expect(try await store.claimName(one, filename: "x.png", subfolder: "", kind: .input, overwrite: false).name == "x.png")
            #expect(try await store.claimName(two, filename: "x.png", subfolder: "", kind: .input, overwrite: false).name == "x (1).png")
            #expect(try await store.claimName(two, filename: "x.png", subfolder: "", kind: .input, overwrite: true).name == "x.png")
            try await store.recordCopy(NodeCopy(node: "gpu-1", hash: one.hash, subfolder: "conductor", name: "a.png", size: 10))
            try await store.recordCopy(NodeCopy(node: "gpu-1", hash: two.hash, subfolder: "conductor", name: "b.png", size: 20))
            try await store.touchCopies([one.hash], on: "gpu-1")
            let again = try await reopen()
            let (files, copies) = try await again.filesAndCopies()
            #expect(Set(files.map(\.name)) == ["x.png", "x (1).png"] && files.allSatisfy { $0.hash == two.hash })
            #expect(copies.count == 2)
            #expect(try await again.excessCopies(on: "gpu-1", maxBytes: 25, keep: []).map(\.hash) == [two.hash])
            #expect(try await again.excessCopies(on: "gpu-1", maxBytes: 25, keep: [two.hash]).map(\.hash) == [one.hash])
            try await again.forgetCopy(copies[0])
            try await again.forgetCopies(on: "gpu-1")
            #expect(try await again.filesAndCopies().copies.isEmpty)
            // Over the size limit: every name of the blob goes, and the blob is reported free.
            let evicted = try await again.evictFiles(maxBytes: 5, maxAge: 3600, keep: [])
            #expect(evicted.blobs == [two.hash] && evicted.names.count == 2)
            #expect(try await again.filesAndCopies().files.isEmpty)
        }
    }

    @Test("PostgreSQL: two coordinators starting at once migrate once and share one installation id")
    func twoAtOnce() async throws {
        try #require(TestPostgres.available, "\(TestPostgres.server.reason)")
        let url = try TestPostgres.freshDatabase()
        let settings = try PostgresSettings(ClusterConfig.Postgres(url: url, poolSize: 2))
        let logger = Logger(label: "test.store")
        async let a = PostgresStore(settings, logger: logger)
        async let b = PostgresStore(settings, logger: logger)
        let (first, second) = try await (a, b)
        defer {
            first.close()
            second.close()
        }
        async let idA = first.instanceID()
        async let idB = second.instanceID()
        let ids = try await [idA, idB]
        #expect(ids[0] == ids[1])
        _ = try await Self.insert(first, "x")
        #expect(try await second.activeJobs().map(\.id) == ["x"])
    }

    @Test("PostgreSQL: a wrong URL or a server that is not there fails start-up with an error naming it")
    func unreachable() async throws {
        #expect(throws: ClusterConfigError.self) { try PostgresSettings(ClusterConfig.Postgres(url: "postgres://", poolSize: 1)) }
        let settings = try PostgresSettings(ClusterConfig.Postgres(url: "postgres://postgres:secret@127.0.0.1:1/none", poolSize: 1))
        #expect(!settings.redacted.contains("secret"))
        await #expect(throws: (any Error).self) { _ = try await PostgresStore(settings, logger: Logger(label: "test.store")) }
    }

    @Test("conductor store copy: a SQLite store's queue, history, numbering, files and fleet changes read the same from PostgreSQL")
    func copy() async throws {
        try #require(TestPostgres.available, "\(TestPostgres.server.reason)")
        try await withTemporaryDirectory { directory in
            let source = try SQLiteStore(path: directory.appendingPathComponent("conductor.sqlite").path)
            let id = try await source.instanceID()
            for index in 0..<3 { _ = try await Self.insert(source, "done\(index)") }
            try await source.update(id: "done1", state: .running, node: "gpu-1", placement: "{}")
            for index in 0..<3 {
                try await source.complete(
                    id: "done\(index)", node: index == 0 ? nil : "gpu-1", entry: Self.entry("done\(index)"), completedAt: Int64(index))
            }
            let waiting = try await Self.insert(source, "waiting")
            let blob = Blob(hash: String(repeating: "c", count: 64), size: 3)
            _ = try await source.claimName(blob, filename: "in.png", subfolder: "", kind: .input, overwrite: false)
            try await source.recordCopy(NodeCopy(node: "gpu-1", hash: blob.hash, subfolder: "conductor", name: "in.png", size: 3))
            try await source.saveDraining("gpu-1", true)

            let settings = try PostgresSettings(ClusterConfig.Postgres(url: try TestPostgres.freshDatabase(), poolSize: 2))
            let target = try await PostgresStore(settings, logger: Logger(label: "test.store"))
            defer { target.close() }
            let counts = try await target.copy(from: source)
            #expect(counts.jobs == 1 && counts.history == 3 && counts.files == 1 && counts.copies == 1 && counts.fleetChanges == 1)
            #expect(try await target.instanceID() == id)
            #expect(try await target.activeJobs().map(\.sequence) == [waiting.sequence])
            #expect(try await target.historyPage(maxItems: nil, offset: 0).map(\.0) == ["done0", "done1", "done2"])
            let nodes = [try await target.historyNode(id: "done0"), try await target.historyNode(id: "done1")]
            #expect(nodes == [nil, "gpu-1"])
            #expect(try await target.finishedJob(id: "done1")?.placement == "{}")
            #expect(try await target.filesAndCopies().files.map(\.name) == ["in.png"])
            #expect(try await target.fleetChanges().first?.draining == true)
            // Numbering goes on after the copied jobs, and a second copy into the same database is refused.
            #expect(try await Self.insert(target, "next").sequence > waiting.sequence)
            await #expect(throws: (any Error).self) { _ = try await target.copy(from: source) }
        }
    }
}

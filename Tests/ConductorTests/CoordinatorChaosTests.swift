import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import HummingbirdWSClient
import Logging
import Synchronization
import Testing

/// Three `conductor serve` processes on one PostgreSQL, killed -9 and restarted in turn while 200 jobs run.
@Suite(
    "Coordinators killed while jobs run",
    .enabled(if: TestPostgres.available && Coordinators.binary != nil, "needs PostgreSQL and the conductor binary"))
struct CoordinatorChaosTests {
    static let model = "v1-5-pruned-emaonly.safetensors"

    @Test("every accepted job ends exactly once, every client hears each of its ends, and no two coordinators lead at once")
    func killInTurn() async throws {
        let specs = ["gpu-a", "gpu-b", "gpu-c"].map { TestNodeSpec(.test($0, checkpoints: [Self.model], timeScale: 0.01), maxOutstanding: 2) }
        try await withNodes(specs) { nodes, base in
            try await withTemporaryDirectory { scratch in
                var config = base
                config.store = .postgres(ClusterConfig.Postgres(url: try TestPostgres.freshDatabase(), poolSize: 4))
                // One data directory for all: the documented shared mount for upload blobs.
                config.dataDirectory = scratch.appendingPathComponent("shared").path
                let coordinators = try Coordinators(config: config, count: 3, scratch: scratch)
                defer { coordinators.stopAll() }
                try await Self.run(coordinators, nodes: nodes.values.map(\.client))
            }
        }
    }

    static func run(_ coordinators: Coordinators, nodes: [TestClient]) async throws {
        for index in 0..<3 { try coordinators.start(index) }
        try await coordinators.waitForLeader()

        // One client per coordinator, each reconnecting (same clientId) to the next live one when its drops.
        let listeners = (0..<3).map { index in Listener(clientID: "client-\(index)", preferred: index) }
        let ports = coordinators.ports
        let listening = Task {
            await withTaskGroup(of: Void.self) { group in
                for listener in listeners { group.addTask { await listener.run(ports: ports) } }
            }
        }
        defer { listening.cancel() }
        try await eventually(timeout: 20, "every client connected") { listeners.allSatisfy(\.isConnected) }

        // The killer: every 1.5 s one coordinator dies (-9) and comes back 1 s later, in turn.
        let killer = Task { try await Self.killInTurn(coordinators) }
        defer { killer.cancel() }
        let accepted = try await Self.submit(200, ports: ports)
        #expect(accepted.count == 200, "every submit was accepted by some coordinator")
        try await eventually(timeout: 180, "every accepted job in history") { try await Self.inHistory(Set(accepted.keys), ports: ports) }
        killer.cancel()
        _ = await killer.result

        // Exactly once: each job is in exactly one node's own history, once.
        var runs: [String: Int] = [:]
        for node in nodes {
            let history = try await node.get("/history").json?.objectValue ?? [:]
            for id in history.keys where accepted[id] != nil { runs[id, default: 0] += 1 }
        }
        #expect(accepted.keys.filter { runs[$0] != 1 }.sorted().isEmpty, "each job ran on exactly one node, once")

        // Every client heard the end of each of its jobs.
        for listener in listeners {
            let mine = Set(accepted.filter { $0.value == listener.preferred }.keys)
            try? await eventually(timeout: 30, "\(listener.clientID) heard every end of its jobs") { mine.isSubset(of: listener.ended) }
            #expect(mine.subtracting(listener.ended).sorted().isEmpty, "\(listener.clientID) missed these ends")
        }

        // Leaders one at a time: each term began after the previous leader was killed.
        let terms = try coordinators.leaderTerms()
        #expect(terms.count >= 2, "the leader was killed and another took over")
        for (previous, next) in zip(terms, terms.dropFirst()) {
            #expect(previous.term < next.term)
            let killedAt = coordinators.killTimes(of: previous.index).first { $0 >= previous.sinceMs }
            #expect(killedAt.map { $0 <= next.sinceMs } == true, "term \(next.term) began while term \(previous.term)'s leader lived")
        }
    }

    static func killInTurn(_ coordinators: Coordinators) async throws {
        var victim = 0
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(1500))
            coordinators.kill(victim)
            try await Task.sleep(for: .seconds(1))
            try coordinators.start(victim)
            victim = (victim + 1) % 3
        }
    }

    /// Submits with the client's own prompt_id, through the client's coordinator or, if it is down, another; a retry
    /// after an unclear failure is the same prompt_id, so it is never a second job. Returns id → owning client.
    static func submit(_ count: Int, ports: [Int]) async throws -> [String: Int] {
        var accepted: [String: Int] = [:]
        for number in 0..<count {
            let owner = number % 3
            let id = "chaos-\(number)"
            let body: JSONValue = [
                "prompt": TestFleet.prompt(checkpoint: model, seed: number, steps: 8), "client_id": .string("client-\(owner)"),
                "prompt_id": .string(id)
            ]
            var attempt = 0
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let answer = try? await TestClient(port: ports[(owner + attempt) % 3]).post("/prompt", body)
                attempt += 1
                if answer?.status == 200 || (answer?.status == 400 && answer?.text.contains("already exists") == true) {
                    accepted[id] = owner
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            try await Task.sleep(for: .milliseconds(40))
        }
        return accepted
    }

    static func inHistory(_ ids: Set<String>, ports: [Int]) async throws -> Bool {
        for port in ports {
            guard let history = try? await TestClient(port: port).get("/history").json?.objectValue else { continue }
            return ids.allSatisfy { history[$0] != nil }
        }
        return false
    }
}

/// A client socket that records the end of each job it hears and reconnects, with the same clientId, to the next
/// live coordinator when its socket drops.
final class Listener: Sendable {
    let clientID: String
    let preferred: Int
    private let state = Mutex<(ended: Set<String>, connected: Bool)>(([], false))

    init(clientID: String, preferred: Int) {
        self.clientID = clientID
        self.preferred = preferred
    }

    var ended: Set<String> { state.withLock { $0.ended } }
    var isConnected: Bool { state.withLock { $0.connected } }

    func run(ports: [Int]) async {
        var logger = Logger(label: "test.listener")
        logger.logLevel = .critical
        var attempt = 0
        while !Task.isCancelled {
            let port = ports[(preferred + attempt) % ports.count]
            attempt += 1
            _ = try? await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)/ws?clientId=\(clientID)", configuration: .init(maxFrameSize: 1 << 24), logger: logger
            ) { inbound, _, _ in
                self.state.withLock { $0.connected = true }
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    guard case .text(let text) = message, let json = try? JSONValue(parsing: text) else { continue }
                    if json["type"]?.stringValue == "executing", json["data"]?["node"] == .null,
                        let id = json["data"]?["prompt_id"]?.stringValue
                    {
                        self.state.withLock { _ = $0.ended.insert(id) }
                    }
                }
            }
            state.withLock { $0.connected = false }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// `conductor serve` processes of the package's own binary, their logs, and when each was killed.
final class Coordinators: Sendable {
    /// The `conductor` executable next to the test bundle (`swift test` builds it).
    static let binary: URL? = {
        let candidate = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("conductor")
        return FileManager.default.isExecutableFile(atPath: candidate.path) ? candidate : nil
    }()

    let ports: [Int]
    let configs: [URL]
    let logs: [URL]
    private let processes = Mutex<[Int: Process]>([:])
    private let kills = Mutex<[Int: [Int64]]>([:])

    init(config: ClusterConfig, count: Int, scratch: URL) throws {
        var ports: [Int] = []
        var configs: [URL] = []
        var logs: [URL] = []
        for index in 0..<count {
            let port = try Self.freePort()
            guard case .postgres(let postgres) = config.store else { throw UnexpectedAnswer(description: "store must be postgres") }
            let json: JSONObject = [
                "listen": ["host": "127.0.0.1", "port": .int(port)], "dataDirectory": .string(config.dataDirectory),
                "nodes": .array(config.nodes.map(\.json)), "pollIntervalSeconds": .number(JSONNumber(config.pollIntervalSeconds)),
                "checkpointLoadSeconds": .number(JSONNumber(config.checkpointLoadSeconds)),
                "store": ["postgres": ["url": .string(postgres.url), "poolSize": 4]]
            ]
            let file = scratch.appendingPathComponent("coordinator-\(index).json")
            try Data(JSONValue.object(json).jsonString(.compact).utf8).write(to: file)
            ports.append(port)
            configs.append(file)
            logs.append(scratch.appendingPathComponent("coordinator-\(index).log"))
        }
        self.ports = ports
        self.configs = configs
        self.logs = logs
    }

    func start(_ index: Int) throws {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["serve", "--config", configs[index].path]
        if !FileManager.default.fileExists(atPath: logs[index].path) { _ = FileManager.default.createFile(atPath: logs[index].path, contents: nil) }
        let log = try FileHandle(forWritingTo: logs[index])
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        processes.withLock { $0[index] = process }
    }

    func kill(_ index: Int) {
        guard let process = processes.withLock({ $0.removeValue(forKey: index) }) else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        kills.withLock { $0[index, default: []].append(now) }
    }

    func killTimes(of index: Int) -> [Int64] { kills.withLock { $0[index] ?? [] } }

    func stopAll() {
        for index in processes.withLock({ Array($0.keys) }) { kill(index) }
    }

    func waitForLeader() async throws {
        try await eventually(timeout: 30, "a leader, and every coordinator ready") {
            var ready = 0
            for port in ports where (try? await TestClient(port: port).get("/readyz"))?.status == 200 { ready += 1 }
            return ready == ports.count
        }
    }

    /// Each "leading the fleet" line of every log: which coordinator, its term, and since when (epoch ms).
    func leaderTerms() throws -> [(index: Int, term: Int64, sinceMs: Int64)] {
        var terms: [(index: Int, term: Int64, sinceMs: Int64)] = []
        for (index, log) in logs.enumerated() {
            let text = try String(contentsOf: log, encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains("leading the fleet") {
                guard let term = Self.field("term", in: line).flatMap(Int64.init), let since = Self.field("since_ms", in: line).flatMap(Int64.init)
                else { continue }
                terms.append((index, term, since))
            }
        }
        return terms.sorted { $0.term < $1.term }
    }

    static func field(_ name: String, in line: Substring) -> String? {
        guard let range = line.range(of: " \(name)=") ?? line.range(of: "\(name)=") else { return nil }
        return String(line[range.upperBound...].prefix { $0.isNumber })
    }

    static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
            }
        }
        guard bound else { throw UnexpectedAnswer(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

import ComfyWire

/// `cluster.json`: where Conductor listens, where it keeps its data, and the nodes it fronts.
///
/// Every key has a default except `nodes`; an unknown or mistyped key fails start-up with an error
/// naming it, so a typo never silently falls back to a default.
public struct ClusterConfig: Sendable, Hashable {
    public struct Listen: Sendable, Hashable {
        /// Default `127.0.0.1`.
        public var host: String = "127.0.0.1"
        /// Default 8188, ComfyUI's own port, so clients need no change.
        public var port: Int = 8188
        /// Where other coordinators sharing the store reach this one (its followers forward to it while it leads).
        /// Default `http://<host>:<port>`, with the machine's host name for a wildcard host; the environment's
        /// `CONDUCTOR_ADVERTISE_URL` overrides it (one config file for every replica).
        public var advertiseURL: String?
        public init(host: String = "127.0.0.1", port: Int = 8188) {
            self.host = host
            self.port = port
        }
    }

    /// One ComfyUI node.
    public struct Node: Sendable, Hashable {
        /// Unique, `[A-Za-z0-9_.-]+`; it names the node's output subfolder toward clients.
        public var name: String
        /// Base URL, e.g. `http://10.0.0.5:8188`.
        public var url: String
        /// Extra request headers toward this node (e.g. credentials of a reverse proxy in front of it).
        public var headers: [String: String] = [:]
        /// Most prompts outstanding on the node (running + waiting there). Default 2.
        public var maxOutstanding: Int = 2
        /// Declared relative speed (1.0 = one 512×512 step per second) until measured. Default 1.0.
        public var speed: Double = 1.0
        /// Free-form labels for operators.
        public var labels: [String: String] = [:]

        public init(
            name: String, url: String, headers: [String: String] = [:], maxOutstanding: Int = 2, speed: Double = 1.0,
            labels: [String: String] = [:]
        ) {
            self.name = name
            self.url = url
            self.headers = headers
            self.maxOutstanding = maxOutstanding
            self.speed = speed
            self.labels = labels
        }
    }

    public var listen = Listen()
    /// SQLite database and files live here. Default `./conductor-data`.
    public var dataDirectory = "./conductor-data"
    public var nodes: [Node]
    /// Seconds between `/system_stats` and `/queue` polls of each node. Default 0.5 (a dead node is noticed in about 1 s).
    public var pollIntervalSeconds: Double = 0.5
    /// Seconds between `/object_info` refreshes of each node. Default 60.
    public var objectInfoRefreshSeconds: Double = 60
    /// Predicted seconds to load a checkpoint that is not resident, until measured. Default 10.
    public var checkpointLoadSeconds: Double = 10
    /// Scheduler knobs (`"scheduler": {...}`, each key optional). Default `SchedulerKnobs.recommended`.
    public var scheduler: SchedulerKnobs = .recommended
    /// Uploads and the copies Conductor puts on nodes (`"files": {...}`, each key optional).
    public var files = Files()
    /// How much Conductor accepts before it answers 503 (`"limits": {...}`).
    public var limits = Limits()
    /// API keys and allowed hosts (`"auth": {...}`); off by default.
    public var auth = Auth()
    /// Where the queue, history and file books live.
    public var store: Store = .sqlite

    public enum Store: Sendable, Hashable {
        /// `conductor.sqlite` under `dataDirectory`: one coordinator (the default).
        case sqlite
        /// A PostgreSQL database that one or several coordinators share.
        case postgres(Postgres)
    }

    public struct Postgres: Sendable, Hashable {
        /// `postgres://user:password@host:port/database?sslmode=disable|prefer|require`.
        public var url: String
        /// Most connections each coordinator opens. Default 10.
        public var poolSize: Int = 10
        public init(url: String, poolSize: Int = 10) {
            self.url = url
            self.poolSize = poolSize
        }
    }

    /// Bounds of the fleet queue.
    public struct Limits: Sendable, Hashable {
        /// Unfinished jobs (waiting + on nodes) beyond which `POST /prompt` answers 503 with Retry-After. Default 10,000.
        public var maxQueuedJobs: Int = 10_000
        /// Unfinished jobs one client (its API key's name when keys are on, else its client_id) may have; nil = no limit.
        public var maxQueuedPerClient: Int?
        /// The Retry-After a refused submit carries, in seconds. Default 5.
        public var retryAfterSeconds: Int = 5
        /// A job running longer than this multiple of its predicted run time (and than `runTimeFloorSeconds`) is
        /// interrupted and sent to another node. Default 5.
        public var runTimeMultiple: Double = 5
        /// Run time no job is stopped before, whatever its prediction. Default 300 s.
        public var runTimeFloorSeconds: Double = 300
        /// A job that was running on this many nodes when they died or overran is failed ("quarantined") rather than
        /// tried again. Default 3.
        public var maxNodeFailures: Int = 3
        /// A node that fails this many times in a row (loses a job, refuses a prompt or a file) is ejected: it takes
        /// no new work for `ejectBaseSeconds`, doubled at each further failure up to `ejectMaxSeconds`. Default 3.
        public var ejectAfterFailures: Int = 3
        public var ejectBaseSeconds: Double = 10
        public var ejectMaxSeconds: Double = 300
        /// Never more than this share of the fleet is ejected at once (a panic threshold): beyond it, ejections
        /// are ignored rather than let the fleet stop. Default 0.5.
        public var maxEjectedFraction: Double = 0.5
        /// The retry budget (Envoy's): jobs being run again after losing their node may be at most this share of the
        /// jobs on nodes, or `minRetryConcurrency`, whichever is more; the others wait their turn in the queue, so a
        /// flapping fleet cannot turn into a storm of re-runs. Default 0.2 and 3.
        public var retryBudgetFraction: Double = 0.2
        public var minRetryConcurrency: Int = 3
        /// Bytes queued for one client WebSocket and not yet written beyond which Conductor closes that socket (a
        /// client that stopped reading), rather than drop a message or hold unbounded memory. Default 8 MiB.
        public var clientBufferBytes: Int = 8 << 20
        /// JSON request bodies (`/prompt`, `/queue`, `/history`, `/settings`, …) larger than this are refused with 413,
        /// before they are read whole. A workflow is kilobytes; uploads have their own `files.maxUploadBytes`. Default 8 MiB.
        public var maxJsonBytes: Int = 8 << 20
        /// Open client connections beyond which Conductor stops accepting new ones until some close (they wait in
        /// the kernel's backlog; the accept batch in flight, at most 3 more, still lands); each time it is reached
        /// `conductor_connection_limit_reached_total` counts. Default 4,096.
        public var maxConnections: Int = 4096
        /// A connection must send a whole request head within this many seconds of opening, or it is closed
        /// (a client sending a header byte a second holds nothing for long). Default 10 s.
        public var headerTimeoutSeconds: Double = 10
        /// A connection with no request in flight for this long is closed (WebSockets excepted). Default 60 s.
        public var idleTimeoutSeconds: Double = 60
        /// A node whose WebSocket has been gone this long holds no jobs: they go back to the fleet queue as for a
        /// node that went down, and `/readyz` does not count it. Default 15 s.
        public var nodeWebSocketGraceSeconds: Double = 15
        public init() {}
    }

    /// The front door: who may use Conductor.
    public struct Auth: Sendable, Hashable {
        public enum Role: String, Sendable, Hashable {
            /// The ComfyUI API (submit, watch, view, upload…).
            case user
            /// Everything, including Conductor's own operator routes under `/conductor/`.
            case admin
        }

        public struct Key: Sendable, Hashable {
            /// Who holds it: logs, per-client limits, fair shares.
            public var name: String
            public var key: String
            public var role: Role
            /// Its holder's share of the fleet when several clients queue at once, relative to other keys (default 1;
            /// 2 = twice the work of a weight-1 key).
            public var weight: Double
            public init(name: String, key: String, role: Role, weight: Double = 1) {
                self.name = name
                self.key = key
                self.role = role
                self.weight = weight
            }
        }

        /// When not empty, every route but `/healthz` and `/readyz` needs one of these keys.
        public var keys: [Key] = []
        /// When not empty, requests whose Host (and Origin, if any) names another host are refused: a defence
        /// against DNS rebinding. Compare hostnames without port, case-insensitively.
        public var allowedHosts: [String] = []
        public init() {}
    }

    /// Limits of Conductor's file store and of the copies it delivers to nodes.
    public struct Files: Sendable, Hashable {
        /// Largest upload accepted, as ComfyUI's `--max-upload-size`. Default 100 MiB.
        public var maxUploadBytes: Int64 = 100 << 20
        /// Conductor's own store: least recently used files beyond this are evicted. Default 20 GiB.
        public var storeMaxBytes: Int64 = 20 << 30
        /// Conductor's own store: files unused for this long are evicted. Default 30 days.
        public var storeMaxAgeSeconds: Double = 30 * 86400
        /// Copies Conductor delivered to one node: least recently used ones beyond this are emptied. Default 10 GiB.
        public var nodeMaxBytes: Int64 = 10 << 30
        /// Assumed bandwidth toward a node, for the scheduler's transfer cost. Default 100 MB/s.
        public var transferBytesPerSecond: Double = 100e6
        public init() {}
    }

    public init(nodes: [Node]) { self.nodes = nodes }
}

/// A cluster.json problem, naming the key at fault.
public struct ClusterConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public let key: String
    public let problem: String
    public var description: String { "cluster.json: \(key): \(problem)" }
    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }
}

extension ClusterConfig {
    /// Parses and checks cluster.json text.
    public init(json text: String) throws(ClusterConfigError) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: text)
        } catch {
            throw ClusterConfigError(key: "(file)", problem: "not valid JSON: \(error)")
        }
        try self.init(json: value)
    }

    public init(json: JSONValue) throws(ClusterConfigError) {
        guard case .object(let root) = json else { throw ClusterConfigError(key: "(file)", problem: "must be a JSON object") }
        let known = [
            "listen", "dataDirectory", "nodes", "pollIntervalSeconds", "objectInfoRefreshSeconds",
            "checkpointLoadSeconds", "scheduler", "files", "limits", "auth", "store"
        ]
        if let unknown = root.keys.first(where: { !known.contains($0) }) {
            throw ClusterConfigError(key: unknown, problem: "unknown key (known: \(known.joined(separator: ", ")))")
        }
        guard case .array(let nodeValues)? = root["nodes"] else {
            throw ClusterConfigError(key: "nodes", problem: "required: a list of {\"name\", \"url\"}")
        }
        var nodes: [Node] = []
        for (index, value) in nodeValues.enumerated() {
            nodes.append(try Self.node(value, key: "nodes[\(index)]"))
        }
        var names = Set<String>()
        for (index, node) in nodes.enumerated() where !names.insert(node.name).inserted {
            throw ClusterConfigError(key: "nodes[\(index)].name", problem: "duplicate node name '\(node.name)'")
        }
        self.init(nodes: nodes)
        if let listen = root["listen"] {
            guard case .object(let object) = listen else { throw ClusterConfigError(key: "listen", problem: "must be an object") }
            if let unknown = object.keys.first(where: { !["host", "port", "advertiseURL"].contains($0) }) {
                throw ClusterConfigError(key: "listen.\(unknown)", problem: "unknown key")
            }
            if let host = object["host"] { self.listen.host = try Self.string(host, key: "listen.host") }
            if let port = object["port"] {
                self.listen.port = try Self.int(port, key: "listen.port", range: 0...65535)
            }
            if let url = object["advertiseURL"] {
                let text = try Self.string(url, key: "listen.advertiseURL")
                guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
                    throw ClusterConfigError(key: "listen.advertiseURL", problem: "must be an http:// or https:// URL")
                }
                self.listen.advertiseURL = text
            }
        }
        if let dir = root["dataDirectory"] { dataDirectory = try Self.string(dir, key: "dataDirectory") }
        if let v = root["pollIntervalSeconds"] { pollIntervalSeconds = try Self.positive(v, key: "pollIntervalSeconds") }
        if let v = root["objectInfoRefreshSeconds"] { objectInfoRefreshSeconds = try Self.positive(v, key: "objectInfoRefreshSeconds") }
        if let v = root["checkpointLoadSeconds"] { checkpointLoadSeconds = try Self.nonNegative(v, key: "checkpointLoadSeconds") }
        if let value = root["scheduler"] { scheduler = try Self.knobs(value) }
        if let value = root["files"] { files = try Self.files(value) }
        if let value = root["limits"] { limits = try Self.limits(value) }
        if let value = root["auth"] { auth = try Self.auth(value) }
        if let value = root["store"] { store = try Self.store(value) }
    }

    static func store(_ value: JSONValue) throws(ClusterConfigError) -> Store {
        guard case .object(let object) = value else { throw ClusterConfigError(key: "store", problem: "must be an object") }
        if object.isEmpty { return .sqlite }
        if let unknown = object.keys.first(where: { !["sqlite", "postgres"].contains($0) }) {
            throw ClusterConfigError(key: "store.\(unknown)", problem: "unknown key (known: sqlite, postgres)")
        }
        guard let postgres = object["postgres"] else { return .sqlite }
        guard case .object(let fields) = postgres else {
            throw ClusterConfigError(key: "store.postgres", problem: "must be an object: {\"url\": \"postgres://…\"}")
        }
        if let unknown = fields.keys.first(where: { !["url", "poolSize"].contains($0) }) {
            throw ClusterConfigError(key: "store.postgres.\(unknown)", problem: "unknown key (known: url, poolSize)")
        }
        guard let url = fields["url"] else { throw ClusterConfigError(key: "store.postgres.url", problem: "required") }
        let text = try string(url, key: "store.postgres.url")
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
            throw ClusterConfigError(key: "store.postgres.url", problem: "must be a postgres:// URL")
        }
        var settings = Postgres(url: text)
        if let v = fields["poolSize"] { settings.poolSize = try int(v, key: "store.postgres.poolSize", range: 1...1000) }
        return .postgres(settings)
    }

    static func limits(_ value: JSONValue) throws(ClusterConfigError) -> Limits {
        guard case .object(let object) = value else { throw ClusterConfigError(key: "limits", problem: "must be an object") }
        let known = [
            "maxQueuedJobs", "maxQueuedPerClient", "retryAfterSeconds", "runTimeMultiple", "runTimeFloorSeconds",
            "maxNodeFailures", "ejectAfterFailures", "ejectBaseSeconds", "ejectMaxSeconds", "maxEjectedFraction",
            "retryBudgetFraction", "minRetryConcurrency", "clientBufferBytes", "maxJsonBytes", "maxConnections",
            "headerTimeoutSeconds", "idleTimeoutSeconds", "nodeWebSocketGraceSeconds"
        ]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw ClusterConfigError(key: "limits.\(unknown)", problem: "unknown key (known: \(known.joined(separator: ", ")))")
        }
        var limits = Limits()
        if let v = object["maxQueuedJobs"] { limits.maxQueuedJobs = try int(v, key: "limits.maxQueuedJobs", range: 1...10_000_000) }
        if let v = object["maxQueuedPerClient"], v != .null {
            limits.maxQueuedPerClient = try int(v, key: "limits.maxQueuedPerClient", range: 1...10_000_000)
        }
        if let v = object["retryAfterSeconds"] { limits.retryAfterSeconds = try int(v, key: "limits.retryAfterSeconds", range: 1...86_400) }
        if let v = object["runTimeMultiple"] { limits.runTimeMultiple = try positive(v, key: "limits.runTimeMultiple") }
        if let v = object["runTimeFloorSeconds"] { limits.runTimeFloorSeconds = try nonNegative(v, key: "limits.runTimeFloorSeconds") }
        if let v = object["maxNodeFailures"] { limits.maxNodeFailures = try int(v, key: "limits.maxNodeFailures", range: 1...100) }
        if let v = object["ejectAfterFailures"] { limits.ejectAfterFailures = try int(v, key: "limits.ejectAfterFailures", range: 1...1000) }
        if let v = object["ejectBaseSeconds"] { limits.ejectBaseSeconds = try positive(v, key: "limits.ejectBaseSeconds") }
        if let v = object["ejectMaxSeconds"] { limits.ejectMaxSeconds = try positive(v, key: "limits.ejectMaxSeconds") }
        if let v = object["maxEjectedFraction"] { limits.maxEjectedFraction = try nonNegative(v, key: "limits.maxEjectedFraction") }
        if let v = object["retryBudgetFraction"] { limits.retryBudgetFraction = try nonNegative(v, key: "limits.retryBudgetFraction") }
        if let v = object["minRetryConcurrency"] { limits.minRetryConcurrency = try int(v, key: "limits.minRetryConcurrency", range: 1...100_000) }
        if let v = object["clientBufferBytes"] { limits.clientBufferBytes = try int(v, key: "limits.clientBufferBytes", range: 1024...(1 << 34)) }
        if let v = object["maxJsonBytes"] { limits.maxJsonBytes = try int(v, key: "limits.maxJsonBytes", range: 1024...(1 << 31)) }
        if let v = object["maxConnections"] { limits.maxConnections = try int(v, key: "limits.maxConnections", range: 8...10_000_000) }
        if let v = object["headerTimeoutSeconds"] { limits.headerTimeoutSeconds = try positive(v, key: "limits.headerTimeoutSeconds") }
        if let v = object["idleTimeoutSeconds"] { limits.idleTimeoutSeconds = try positive(v, key: "limits.idleTimeoutSeconds") }
        if let v = object["nodeWebSocketGraceSeconds"] {
            limits.nodeWebSocketGraceSeconds = try positive(v, key: "limits.nodeWebSocketGraceSeconds")
        }
        return limits
    }

    static func auth(_ value: JSONValue) throws(ClusterConfigError) -> Auth {
        guard case .object(let object) = value else { throw ClusterConfigError(key: "auth", problem: "must be an object") }
        let known = ["keys", "allowedHosts"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw ClusterConfigError(key: "auth.\(unknown)", problem: "unknown key (known: \(known.joined(separator: ", ")))")
        }
        var auth = Auth()
        if let keys = object["keys"] {
            guard case .array(let list) = keys else {
                throw ClusterConfigError(key: "auth.keys", problem: "must be a list of {\"name\", \"key\", \"role\"}")
            }
            for (index, entry) in list.enumerated() {
                let path = "auth.keys[\(index)]"
                guard case .object(let fields) = entry else { throw ClusterConfigError(key: path, problem: "must be an object") }
                if let unknown = fields.keys.first(where: { !["name", "key", "role", "weight"].contains($0) }) {
                    throw ClusterConfigError(key: "\(path).\(unknown)", problem: "unknown key (known: name, key, role, weight)")
                }
                guard let name = fields["name"] else { throw ClusterConfigError(key: "\(path).name", problem: "required") }
                guard let key = fields["key"] else { throw ClusterConfigError(key: "\(path).key", problem: "required") }
                let secret = try string(key, key: "\(path).key")
                guard secret.utf8.count >= 16 else { throw ClusterConfigError(key: "\(path).key", problem: "must be at least 16 characters") }
                let roleName = try fields["role"].map { v throws(ClusterConfigError) in try string(v, key: "\(path).role") } ?? "user"
                guard let role = Auth.Role(rawValue: roleName) else {
                    throw ClusterConfigError(key: "\(path).role", problem: "must be user or admin")
                }
                let weight = try fields["weight"].map { v throws(ClusterConfigError) in try positive(v, key: "\(path).weight") } ?? 1
                auth.keys.append(Auth.Key(name: try string(name, key: "\(path).name"), key: secret, role: role, weight: weight))
            }
            var seen = Set<String>()
            for (index, key) in auth.keys.enumerated() where !seen.insert(key.key).inserted {
                throw ClusterConfigError(key: "auth.keys[\(index)].key", problem: "the same key is listed twice")
            }
        }
        if let hosts = object["allowedHosts"] {
            guard case .array(let list) = hosts else { throw ClusterConfigError(key: "auth.allowedHosts", problem: "must be a list of host names") }
            for (index, host) in list.enumerated() {
                auth.allowedHosts.append(try string(host, key: "auth.allowedHosts[\(index)]").lowercased())
            }
        }
        return auth
    }

    static func files(_ value: JSONValue) throws(ClusterConfigError) -> Files {
        guard case .object(let object) = value else { throw ClusterConfigError(key: "files", problem: "must be an object") }
        let known = ["maxUploadBytes", "storeMaxBytes", "storeMaxAgeSeconds", "nodeMaxBytes", "transferBytesPerSecond"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw ClusterConfigError(key: "files.\(unknown)", problem: "unknown key (known: \(known.joined(separator: ", ")))")
        }
        var files = Files()
        func bytes(_ key: String) throws(ClusterConfigError) -> Int64? {
            guard let v = object[key] else { return nil }
            guard let n = v.numberValue, n.isInteger, let i = Int64(n.literal), i > 0 else {
                throw ClusterConfigError(key: "files.\(key)", problem: "must be a whole number of bytes > 0")
            }
            return i
        }
        if let v = try bytes("maxUploadBytes") { files.maxUploadBytes = v }
        if let v = try bytes("storeMaxBytes") { files.storeMaxBytes = v }
        if let v = try bytes("nodeMaxBytes") { files.nodeMaxBytes = v }
        if let v = object["storeMaxAgeSeconds"] { files.storeMaxAgeSeconds = try positive(v, key: "files.storeMaxAgeSeconds") }
        if let v = object["transferBytesPerSecond"] { files.transferBytesPerSecond = try positive(v, key: "files.transferBytesPerSecond") }
        return files
    }

    static func node(_ value: JSONValue, key: String) throws(ClusterConfigError) -> Node {
        guard case .object(let object) = value else { throw ClusterConfigError(key: key, problem: "must be an object") }
        let known = ["name", "url", "headers", "maxOutstanding", "speed", "labels"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw ClusterConfigError(key: "\(key).\(unknown)", problem: "unknown key (known: \(known.joined(separator: ", ")))")
        }
        guard let nameValue = object["name"] else { throw ClusterConfigError(key: "\(key).name", problem: "required") }
        let name = try string(nameValue, key: "\(key).name")
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        guard !name.isEmpty, name.allSatisfy({ allowed.contains($0) }), name != ".", name != ".." else {
            throw ClusterConfigError(key: "\(key).name", problem: "must match [A-Za-z0-9_.-]+")
        }
        guard let urlValue = object["url"] else { throw ClusterConfigError(key: "\(key).url", problem: "required") }
        var url = try string(urlValue, key: "\(key).url")
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ClusterConfigError(key: "\(key).url", problem: "must start with http:// or https://")
        }
        while url.hasSuffix("/") { url.removeLast() }
        var node = Node(name: name, url: url)
        if let headers = object["headers"] { node.headers = try stringMap(headers, key: "\(key).headers") }
        if let labels = object["labels"] { node.labels = try stringMap(labels, key: "\(key).labels") }
        if let v = object["maxOutstanding"] { node.maxOutstanding = try int(v, key: "\(key).maxOutstanding", range: 1...1000) }
        if let v = object["speed"] { node.speed = try positive(v, key: "\(key).speed") }
        return node
    }

}

extension ClusterConfig.Node {
    /// A node as written in cluster.json's `nodes` list (the admin API takes the same object).
    public init(json: JSONValue) throws(ClusterConfigError) {
        self = try ClusterConfig.node(json, key: "node")
    }

    /// The cluster.json object of this node; `init(json:)` reads it back unchanged.
    public var json: JSONValue {
        func map(_ strings: [String: String]) -> JSONValue {
            .object(JSONObject(strings.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
        }
        return [
            "name": .string(name), "url": .string(url), "headers": map(headers), "maxOutstanding": .int(maxOutstanding),
            "speed": .double(speed), "labels": map(labels)
        ]
    }
}

extension ClusterConfig {
    /// cluster.json's `"scheduler"` object: the recommended knobs with the keys given replaced.
    public static func knobs(_ value: JSONValue) throws(ClusterConfigError) -> SchedulerKnobs {
        guard case .object(let object) = value else { throw ClusterConfigError(key: "scheduler", problem: "must be an object") }
        let known = ["affinitySlackSeconds", "startDelayWeight", "evictionWeight", "waitForFullNodeGainSeconds"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw ClusterConfigError(key: "scheduler.\(unknown)", problem: "unknown key (known: \(known.joined(separator: ", ")))")
        }
        var knobs = SchedulerKnobs.recommended
        if let v = object["affinitySlackSeconds"] { knobs.affinitySlackSeconds = try nonNegative(v, key: "scheduler.affinitySlackSeconds") }
        if let v = object["startDelayWeight"] { knobs.startDelayWeight = try nonNegative(v, key: "scheduler.startDelayWeight") }
        if let v = object["evictionWeight"] { knobs.evictionWeight = try nonNegative(v, key: "scheduler.evictionWeight") }
        if let v = object["waitForFullNodeGainSeconds"] {
            knobs.waitForFullNodeGainSeconds = v == .null ? nil : try nonNegative(v, key: "scheduler.waitForFullNodeGainSeconds")
        }
        return knobs
    }

    static func string(_ value: JSONValue, key: String) throws(ClusterConfigError) -> String {
        guard case .string(let s) = value else { throw ClusterConfigError(key: key, problem: "must be a string") }
        return s
    }

    static func int(_ value: JSONValue, key: String, range: ClosedRange<Int>) throws(ClusterConfigError) -> Int {
        guard let n = value.numberValue, n.isInteger, let i = Int(n.literal), range.contains(i) else {
            throw ClusterConfigError(key: key, problem: "must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return i
    }

    static func positive(_ value: JSONValue, key: String) throws(ClusterConfigError) -> Double {
        guard let d = value.doubleValue, d > 0, d.isFinite else { throw ClusterConfigError(key: key, problem: "must be a number > 0") }
        return d
    }

    static func nonNegative(_ value: JSONValue, key: String) throws(ClusterConfigError) -> Double {
        guard let d = value.doubleValue, d >= 0, d.isFinite else { throw ClusterConfigError(key: key, problem: "must be a number >= 0") }
        return d
    }

    static func stringMap(_ value: JSONValue, key: String) throws(ClusterConfigError) -> [String: String] {
        guard case .object(let object) = value else { throw ClusterConfigError(key: key, problem: "must be an object of strings") }
        var out: [String: String] = [:]
        for (k, v) in object { out[k] = try string(v, key: "\(key).\(k)") }
        return out
    }
}

import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import Logging
import NIOHTTP1
import SimulatedNode
import Testing

/// What an outside probe found at the front door: admin routes reached through other spellings of their paths,
/// a browser's key forwarded to nodes, Host values that only start with an allowed host, NaN in a prompt.
@Suite("The front door against an outside probe")
struct OutsideProbeTests {
    static let model = FrontDoorTests.model
    static let userKey = FrontDoorTests.userKey
    static let adminKey = FrontDoorTests.adminKey

    /// One request as written, over its own connection; the status code, or nil when none came.
    static func raw(
        _ port: Int, _ method: String, _ target: String, key: String?, body: String = "",
        extraHeaders: String = ""
    ) async throws -> (status: Int, text: String) {
        let connection = try await RawConnection.open(port: port)
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let key { head += "Authorization: Bearer \(key)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        try await connection.send(head + extraHeaders + "\r\n" + body)
        let (text, _) = try await connection.readUntilClosed(timeout: .seconds(10))
        await connection.close()
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? -1
        return (status, text)
    }

    /// The status of a `GET /prompt` with this Host (and any extra header lines).
    static func status(_ port: Int, host: String, extra: String = "") async throws -> Int {
        let connection = try await RawConnection.open(port: port)
        try await connection.send("GET /prompt HTTP/1.1\r\nHost: \(host)\r\n\(extra)Connection: close\r\n\r\n")
        let (text, _) = try await connection.readUntilClosed(timeout: .seconds(10))
        await connection.close()
        return text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? -1
    }

    /// Every operator route, as method and path.
    static let adminRoutes: [(String, String)] = [
        ("GET", "/conductor"), ("GET", "/conductor/"), ("GET", "/conductor/api/nodes"), ("GET", "/conductor/api/run-times"),
        ("GET", "/conductor/api/nodes/a"), ("POST", "/conductor/api/nodes"), ("DELETE", "/conductor/api/nodes/a"),
        ("POST", "/conductor/api/nodes/a/drain"), ("POST", "/conductor/api/nodes/a/undrain"), ("GET", "/conductor/api/jobs"),
        ("GET", "/conductor/api/jobs/x"), ("POST", "/conductor/api/jobs/x/requeue"), ("POST", "/conductor/api/jobs/x/cancel"),
        ("GET", "/conductor/api/dashboard"), ("GET", "/conductor/api/events"), ("GET", "/metrics")
    ]

    /// Ways to write one path that a router may read as the same route.
    static func spellings(_ path: String) -> [String] {
        let tail = String(path.dropFirst())
        var spellings = [
            path, "/" + path, "//" + path, path + "/", path.replacingOccurrences(of: "/api/", with: "//api/"),
            "/" + tail.replacingOccurrences(of: "/", with: "//"), path + "?x=1", path + "#frag",
            "/%63" + tail.dropFirst(), path.uppercased(), "/./" + tail
        ]
        if path.hasPrefix("/conductor") { spellings.append("/conductor/../" + tail) }
        return spellings
    }

    @Test("with a user key, no spelling of an operator route's path reaches it; an admin key does")
    func adminRoutesWhateverTheSpelling() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))], configure: FrontDoorTests.withKeys) { fleet in
            let port = fleet.conductor.port
            var reached: [String] = []
            for (method, path) in Self.adminRoutes {
                for target in Self.spellings(path) {
                    let body = method == "POST" && path == "/conductor/api/nodes" ? #"{"name": "evil", "url": "http://127.0.0.1:9"}"# : ""
                    let answer = try await Self.raw(port, method, target, key: Self.userKey, body: body)
                    // 403 (the route, refused) or 404/400 (no route): never the handler's answer.
                    if ![403, 404, 400].contains(answer.status) { reached.append("\(method) \(target) → \(answer.status)") }
                }
            }
            #expect(reached.isEmpty, "reached with a user key: \(reached)")
            // Nothing changed: node a is not drained, no node was added.
            let nodes = try await fleet.conductor.request(.GET, "/conductor/api/nodes", headers: FrontDoorTests.bearer(Self.adminKey))
            #expect(nodes.json?["nodes"]?.arrayValue?.count == 1)
            #expect(nodes.json?["nodes"]?[0]?["draining"] == false)
            // The same spellings with an admin key do reach the routes (so the 403s above are the guard's).
            #expect(try await Self.raw(port, "GET", "//conductor/api/nodes", key: Self.adminKey).status == 200)
            #expect(try await Self.raw(port, "GET", "/metrics", key: Self.adminKey).status == 200)
            #expect(try await Self.raw(port, "GET", "/metrics", key: nil).status == 401)
        }
    }

    @Test("a browser's ?token= is not sent on to the node, whatever else the query carries")
    func tokenNotForwarded() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))], configure: FrontDoorTests.withKeys) { fleet in
            let client = fleet.conductor
            #expect(try await client.get("/settings?token=\(Self.userKey)").status == 200)
            #expect(try await client.get("/api/userdata?dir=workflows&token=\(Self.userKey)&recurse=true").status != 401)
            #expect(
                try await client.request(
                    .GET, "/api/userdata?to%6Ben=\(Self.userKey)&dir=workflows",
                    headers: FrontDoorTests.bearer(Self.userKey)
                ).status != 401)
            let id = try #require(
                try await client.request(
                    .POST, "/prompt", json: ["prompt": TestFleet.prompt(checkpoint: Self.model)], headers: FrontDoorTests.bearer(Self.userKey)
                ).json?["prompt_id"]?.stringValue)
            try await eventually(timeout: 10) {
                try await client.request(.GET, "/history/\(id)", headers: FrontDoorTests.bearer(Self.userKey)).json?[id] != nil
            }
            let history = try await client.request(.GET, "/history/\(id)", headers: FrontDoorTests.bearer(Self.userKey))
            let image = try #require(history.json?[id]?["outputs"]?["9"]?["images"]?[0])
            let view =
                "/view?filename=\(image["filename"]!.stringValue!)&subfolder=\(image["subfolder"]!.stringValue!)&type=output&token=\(Self.userKey)"
            #expect(try await client.get(view).status == 200)
            let log = await fleet.node("a").requestLog
            #expect(log.contains { $0.contains("/settings") })
            #expect(log.contains { $0.hasPrefix("GET /view") })
            #expect(log.contains { $0.contains("dir=workflows&recurse=true") }, "the rest of the query is kept as sent")
            let leaked = log.filter { $0.contains(Self.userKey) }
            #expect(leaked.isEmpty, "the node saw the key: \(leaked)")
        }
    }

    @Test("allowedHosts reads the whole Host as one authority; a second Host is refused")
    func hostIsOneAuthority() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))], configure: FrontDoorTests.withAllowedHosts) { fleet in
            let port = fleet.conductor.port
            let local = "127.0.0.1:\(port)"
            let plain = try await Self.status(port, host: local)
            #expect(plain == 200)
            let named = try await Self.status(port, host: "CONDUCTOR.example")
            #expect(named == 200)
            for host in [
                local + "@evil.com", "localhost:evil.com", local + ", evil.com", "127.0.0.1:99999",
                "conductor.example.evil.com", local + "/x", ""
            ] {
                let refused = try await Self.status(port, host: host)
                #expect(refused == 403, "Host: \(host)")
            }
            let twice = try await Self.status(port, host: local, extra: "Host: evil.com\r\n")
            #expect(twice == 400)
            let twiceOtherOrder = try await Self.status(port, host: "evil.com", extra: "Host: 127.0.0.1\r\n")
            #expect(twiceOtherOrder == 400)
        }
    }

    @Test("/view refuses a node subfolder that climbs out itself, before the node is asked")
    func nodeSubfolderTraversal() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))]) { fleet in
            let before = await fleet.node("a").requestLog.filter { $0.hasPrefix("GET /view") }.count
            for subfolder in ["a/x/../..", "a/x/../../..", "a/..%2F..", "a/x/%2e%2e/%2e%2e"] {
                let answer = try await fleet.conductor.get("/view?filename=x.png&type=output&subfolder=\(subfolder)")
                #expect([400, 403, 404].contains(answer.status), "\(subfolder): \(answer.status)")
            }
            let after = await fleet.node("a").requestLog.filter { $0.hasPrefix("GET /view") && $0.contains("..") }.count
            #expect(after == 0 && before == 0, "the node was asked for a path with ..")
        }
    }
}

extension OutsideProbeTests {
    /// A WebSocket upgrade request's status line.
    static func upgradeStatus(_ port: Int, query: String, host: String? = nil) async throws -> String {
        let connection = try await RawConnection.open(port: port)
        try await connection.send(
            "GET /ws?\(query) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let head = try await connection.readResponseHead(timeout: .seconds(10))
        await connection.close()
        return String(head.split(separator: "\r\n", maxSplits: 1).first ?? "")
    }

    @Test("a WebSocket upgrade the front door refuses is answered 401 or 403, as the same request without the upgrade")
    func refusedUpgradeStatus() async throws {
        try await withFleet(
            [TestNodeSpec(.test("a", checkpoints: [Self.model]))],
            configure: {
                FrontDoorTests.withKeys(&$0)
                FrontDoorTests.withAllowedHosts(&$0)
            }
        ) { fleet in
            let port = fleet.conductor.port
            let noKey = try await Self.upgradeStatus(port, query: "clientId=x")
            #expect(noKey == "HTTP/1.1 401 Unauthorized")
            let wrongHost = try await Self.upgradeStatus(port, query: "clientId=x&token=\(Self.userKey)", host: "evil.example")
            #expect(wrongHost == "HTTP/1.1 403 Forbidden")
            let allowed = try await Self.upgradeStatus(port, query: "clientId=x&token=\(Self.userKey)")
            #expect(allowed == "HTTP/1.1 101 Switching Protocols")
        }
    }
}

extension OutsideProbeTests {
    /// The close code the server sends after `frame` on a fresh `/ws` (nil when it sends none).
    static func closeCode(after frame: [UInt8], port: Int) async throws -> Int? {
        let connection = try await RawConnection.open(port: port)
        try await connection.send(
            "GET /ws?clientId=frames HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        // The frame goes once the upgrade is answered, as a client's would.
        _ = try await connection.readResponseHead(timeout: .seconds(10))
        try await connection.sendBytes(frame)
        let (received, _) = try await connection.readBytesUntilClosed(timeout: .seconds(10))
        await connection.close()
        guard let head = received.firstRange(of: [13, 10, 13, 10] as [UInt8]) else { return nil }
        var frames = Array(received[head.upperBound...])
        var closeCode: Int?
        while frames.count >= 2 {
            let opcode = frames[0] & 0x0F
            var length = Int(frames[1] & 0x7F)
            var start = 2
            if length == 126 {
                length = Int(frames[2]) << 8 | Int(frames[3])
                start = 4
            }
            guard frames.count >= start + length else { break }
            if opcode == 0x8, length >= 2 { closeCode = Int(frames[start]) << 8 | Int(frames[start + 1]) }
            frames.removeFirst(start + length)
        }
        return closeCode
    }

    @Test("a client frame sent without a mask closes its WebSocket with 1002; a masked one does not")
    func unmaskedFrame() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))]) { fleet in
            let text = Array(#"{"type":"feature_flags","data":{}}"#.utf8)
            let unmasked = try await Self.closeCode(after: [0x81, UInt8(text.count)] + text, port: fleet.conductor.port)
            #expect(unmasked == 1002)
            let key: [UInt8] = [9, 8, 7, 6]
            let masked: [UInt8] = [0x81, 0x80 | UInt8(text.count)] + key + text.enumerated().map { $0.element ^ key[$0.offset % 4] }
            // A masked frame is read; the socket stays open (the read times out with no close frame).
            let connection = try await RawConnection.open(port: fleet.conductor.port)
            let port = fleet.conductor.port
            try await connection.send(
                "GET /ws?clientId=masked HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\n"
                    + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            try await connection.sendBytes(masked + masked)
            let (_, closed) = try await connection.readBytesUntilClosed(timeout: .seconds(1))
            await connection.close()
            #expect(!closed)
        }
    }

    @Test("a client text frame that is not UTF-8 closes its WebSocket with 1007")
    func invalidUTF8Frame() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))]) { fleet in
            // A masked text frame carrying 0xC3 0x28 (not UTF-8).
            let key: [UInt8] = [1, 2, 3, 4]
            let payload: [UInt8] = [0xC3, 0x28]
            let frame: [UInt8] = [0x81, 0x80 | UInt8(payload.count)] + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
            let code = try await Self.closeCode(after: frame, port: fleet.conductor.port)
            #expect(code == 1007)
        }
    }
}

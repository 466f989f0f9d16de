import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import HummingbirdWSClient
import Logging
import NIOHTTP1
import SimulatedNode
import Testing

/// Who gets in, and how much: API keys, origin and host checks, path attacks, overload.
@Suite("The front door")
struct FrontDoorTests {
    static let model = "v1-5-pruned-emaonly.safetensors"
    static let userKey = "user-key-0123456789abcdef"
    static let adminKey = "admin-key-0123456789abcdef"

    static func withKeys(_ config: inout ClusterConfig) {
        config.auth.keys = [.init(name: "alice", key: userKey, role: .user), .init(name: "root", key: adminKey, role: .admin)]
    }

    static func withAllowedHosts(_ config: inout ClusterConfig) {
        config.auth.allowedHosts = ["127.0.0.1", "conductor.example"]
    }

    static func bearer(_ key: String) -> [(String, String)] { [("Authorization", "Bearer \(key)")] }

    @Test("a key's per-client limit counts its queued jobs after a restart too, whatever client_id they carry")
    func perKeyLimitSurvivesRestart() async throws {
        try await withTemporaryDirectory { data in
            let configure: @Sendable (inout ClusterConfig) -> Void = { config in
                Self.withKeys(&config)
                config.limits.maxQueuedPerClient = 2
            }
            try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))], dataDirectory: data, configure: configure) { fleet in
                @Sendable func submit(_ port: Int, seed: Int, tab: String) async throws -> Int {
                    let body: JSONValue = ["prompt": TestFleet.prompt(checkpoint: Self.model, seed: seed), "client_id": .string(tab)]
                    return try await TestClient(port: port).request(.POST, "/prompt", json: body, headers: Self.bearer(Self.userKey)).status
                }
                // The only node drained (kept across restarts): jobs stay in Conductor's queue.
                #expect(
                    try await fleet.conductor.request(.POST, "/conductor/api/nodes/a/drain", json: [:], headers: Self.bearer(Self.adminKey)).status
                        == 200)
                let port = fleet.conductor.port
                #expect(try await submit(port, seed: 1, tab: "tab-1") == 200)
                #expect(try await submit(port, seed: 2, tab: "tab-2") == 200)
                #expect(try await submit(port, seed: 3, tab: "tab-3") == 503, "alice has 2 unfinished prompts")
                // A new Conductor on the same data directory restores both as alice's.
                let afterRestart = try await withConductor(fleet.config) { _, restarted in
                    try await submit(restarted, seed: 4, tab: "tab-4")
                }
                #expect(afterRestart == 503, "still alice's 2, not tab-1's and tab-2's")
            }
        }
    }

    @Test("with keys on, every route but the probes needs one; operator routes need an admin key")
    func keys() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))], configure: Self.withKeys) { fleet in
            let client = fleet.conductor
            for path in ["/prompt", "/queue", "/object_info", "/view?filename=x.png", "/", "/api/userdata?dir=workflows", "/conductor/"] {
                let result = try await client.get(path)
                #expect(result.status == 401, "\(path) answered \(result.status) without a key")
                #expect(result.header("WWW-Authenticate") == "Bearer")
            }
            #expect(try await client.request(.GET, "/prompt", headers: Self.bearer("wrong-key-0123456789abcdef")).status == 401)
            #expect(try await client.get("/healthz").status == 200)
            #expect(try await client.request(.GET, "/prompt", headers: Self.bearer(Self.userKey)).status == 200)
            #expect(try await client.request(.GET, "/conductor/api/nodes", headers: Self.bearer(Self.userKey)).status == 403)
            #expect(try await client.request(.GET, "/conductor/api/nodes", headers: Self.bearer(Self.adminKey)).status == 200)
            let post = try await client.request(.POST, "/prompt", json: ["prompt": TestFleet.prompt(checkpoint: Self.model)])
            #expect(post.status == 401)
            // A browser: ?token= once, then the cookie carries the key (the page's fetches and its WebSocket).
            let page = try await client.get("/object_info?token=\(Self.userKey)")
            #expect(page.status == 200)
            let cookie = try #require(page.header("Set-Cookie"))
            #expect(cookie.contains("HttpOnly") && cookie.hasPrefix("conductor_token="))
            let pair = String(cookie.split(separator: ";")[0])
            #expect(try await client.request(.GET, "/queue", headers: [("Cookie", pair)]).status == 200)
            // The WebSocket upgrade is behind the same door.
            await #expect(throws: (any Error).self) {
                try await WebSocketClient.connect(url: "ws://127.0.0.1:\(client.port)/ws?clientId=nokey", logger: Logger(label: "test")) { _, _, _ in
                }
            }
            try await withWebSocket(port: client.port, clientID: "withkey", query: "token=\(Self.userKey)") { socket in
                #expect(socket.messages.first?["type"] == "status")
            }
        }
    }

    @Test("ComfyUI's origin check, and a Host allowlist against DNS rebinding")
    func origins() async throws {
        try await withFleet(
            [TestNodeSpec(.test("a", checkpoints: [Self.model]))],
            configure: Self.withAllowedHosts
        ) { fleet in
            let client = fleet.conductor
            let plain = try await client.get("/prompt")
            #expect(plain.status == 200)
            #expect(try await client.request(.GET, "/prompt", headers: [("Origin", "http://127.0.0.1:\(client.port)")]).status == 200)
            #expect(try await client.request(.GET, "/prompt", headers: [("Origin", "http://evil.example")]).status == 403)
            #expect(try await client.request(.GET, "/prompt", headers: [("Sec-Fetch-Site", "cross-site")]).status == 403)
            #expect(try await client.request(.GET, "/prompt", headers: [("Host", "rebound.example")]).status == 403)
            #expect(try await client.request(.GET, "/prompt", headers: [("Host", "conductor.example")]).status == 200)
            #expect(
                try await client.request(
                    .GET, "/prompt",
                    headers: [("Host", "conductor.example"), ("Origin", "https://evil.example")]
                ).status == 403)
        }
    }

    /// Strings that try to leave a directory: plain, encoded, double-encoded, absolute, backslashed, NUL, overlong UTF-8.
    static let pathAttacks: [String] = {
        var attacks = [
            "..", "../", "../..", "../../etc/passwd", "..\\..\\windows", "/etc/passwd", "/", "//etc/passwd", "\\etc\\passwd",
            "a/../../b", "a/b/../../../c", "./../x", ".../../x", "....//....//x", "..;/x", "x\0.png", "\0", "a\0/../../b",
            "C:\\Windows\\win.ini", "C:/Windows/win.ini", "\\\\server\\share", "..%2f..%2fetc", "%2e%2e%2f", "%2e%2e/%2e%2e",
            "%252e%252e%252f", "..%252f..%252f", "%c0%ae%c0%ae/", "%c0%ae%c0%ae%c0%af", "\u{C0}\u{AE}\u{C0}\u{AE}/x",
            "..\u{2215}x", "..%5c..%5c", "%2e%2e%5c", "/..", "/../x", "input/../../x", "x/../../../../../../../../etc/passwd",
            "....\\\\....\\\\x", "..//..//x", ".\\..\\x", "%00", "x%00.png", "..\u{FF0F}x", "\u{2024}\u{2024}/x", "a/./../../b",
            "../input/x.png", "../output", "../temp/x", "/tmp/x", "~/x", "../../../../../../../../../../../../etc/shadow"
        ]
        attacks.append(String(repeating: "../", count: 40) + "etc/passwd")
        return attacks
    }()

    @Test("a corpus of path attacks against /view, /upload and /userdata is refused, and nothing is written")
    func pathAttacks() async throws {
        #expect(Self.pathAttacks.count >= 50)
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))]) { fleet in
            let client = fleet.conductor
            let png = PNG.encode(RasterImage(width: 1, height: 1, channels: 3, pixels: [1, 2, 3]))
            // A real file next door, so an escape that found it would answer 200.
            #expect(try await client.multipart("/upload/image", file: ("image", "x.png", png)).status == 200)
            for attack in Self.pathAttacks {
                let encoded = FleetProxyEncoding.encode(attack)
                for query in [
                    "filename=\(encoded)&type=input", "filename=x.png&type=input&subfolder=\(encoded)",
                    "filename=x.png&type=\(encoded)", "filename=\(encoded)&subfolder=a/a/a/a&type=output"
                ] {
                    let view = try await client.get("/view?" + query)
                    #expect([400, 403, 404].contains(view.status), "/view?\(query) answered \(view.status)")
                }
                let named = try await client.multipart("/upload/image", file: ("image", attack, png))
                if named.status == 200 {
                    // A name without a separator, NUL or dot-dot ("%2e%2e%2f", "..∕x") is a name like any other:
                    // Conductor keeps it in SQLite, never as a path, and answers it back verbatim.
                    #expect(UploadNaming.isPlainName(attack), "upload named \(attack.debugDescription) was accepted")
                    #expect(named.json?["name"]?.stringValue == attack)
                } else {
                    #expect(named.status == 400, "upload named \(attack.debugDescription) answered \(named.status)")
                }
                let folder = try await client.multipart("/upload/image", fields: [("subfolder", attack)], file: ("image", "y.png", png))
                if folder.status == 200 {
                    // Accepted only when it normalizes inside the input root, exactly as ComfyUI's normpath does.
                    #expect(UploadNaming.normalizedSubfolder(attack) != nil, "subfolder \(attack.debugDescription) was accepted")
                }
                let userdata = try await client.get("/userdata/\(encoded)")
                #expect(userdata.status != 200 || !userdata.text.contains("root:"), "/userdata/\(attack) answered \(userdata.status)")
            }
            // Nothing landed outside the store's blobs, and no blob is named by a client.
            let store = fleet.coordinator.files.directory
            let names = FileManager.default.enumerator(atPath: store.path)?.compactMap { $0 as? String } ?? []
            for name in names where !name.hasPrefix(".incoming") {
                let last = String(name.split(separator: "/").last ?? "")
                #expect(last.count == 2 || last.count == 64, "unexpected file in the store: \(name)")
            }
        }
    }

    @Test("a symlink on a node escaping its input directory is not followed, through Conductor or directly")
    func symlinkEscape() async throws {
        try await withTemporaryDirectory { outside in
            try Data("root:x:0:0:secret".utf8).write(to: outside.appendingPathComponent("secret.txt"))
            try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))]) { fleet in
                let input = fleet.node("a").files.directory(.input)
                let manager = FileManager.default
                try manager.createSymbolicLink(at: input.appendingPathComponent("escape"), withDestinationURL: outside)
                try manager.createSymbolicLink(
                    at: input.appendingPathComponent("leak.png"),
                    withDestinationURL: outside.appendingPathComponent("secret.txt"))
                for query in [
                    "filename=secret.txt&subfolder=escape&type=input", "filename=leak.png&type=input",
                    "filename=secret.txt&subfolder=escape/.&type=input"
                ] {
                    for client in [fleet.conductor, fleet.direct("a")] {
                        let view = try await client.get("/view?" + query)
                        #expect([400, 403, 404].contains(view.status), "/view?\(query) answered \(view.status)")
                        #expect(!view.text.contains("secret"))
                    }
                }
            }
        }
    }

    @Test("SVG and HTML uploads are served as attachments, never sniffed")
    func activeContent() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.model]))]) { fleet in
            let svg = Array(#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.utf8)
            #expect(try await fleet.conductor.multipart("/upload/image", file: ("image", "x.svg", svg)).status == 200)
            let view = try await fleet.conductor.get("/view?filename=x.svg&type=input")
            #expect(view.header("Content-Disposition") == "attachment; filename=\"x.svg\"")
            #expect(view.header("X-Content-Type-Options") == "nosniff")
            let png = try await fleet.conductor.multipart("/upload/image", file: ("image", "p.png", [1, 2, 3]))
            #expect(png.status == 200)
            #expect(try await fleet.conductor.get("/view?filename=p.png&type=input").header("Content-Disposition") == "filename=\"p.png\"")
        }
    }
}

/// Percent-encoding of a query value, every byte outside the unreserved set.
enum FleetProxyEncoding {
    static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

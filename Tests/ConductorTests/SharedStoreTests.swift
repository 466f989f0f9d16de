import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import Testing

/// Coordinators sharing one PostgreSQL: one fleet whichever a client talks to.
@Suite("Coordinators sharing PostgreSQL", .enabled(if: TestPostgres.available, "no PostgreSQL server could be started"))
struct SharedStoreTests {
    static let model = "v1-5-pruned-emaonly.safetensors"

    /// The fleet's leader among the ports (it answers `/conductor/api/nodes` itself; a follower passes it on, so both
    /// answer: the leader is the one whose /readyz speaks of nodes).
    static func waitForLeader(_ ports: [Int]) async throws {
        try await eventually(timeout: 20, "a leader with its nodes up, and every coordinator following it") {
            var ready = 0
            for port in ports {
                let answer = try await TestClient(port: port).get("/readyz")
                if answer.status == 200 { ready += 1 }
            }
            return ready == ports.count
        }
    }

    @Test("a job submitted through one coordinator runs, and a client on the other hears every message of it, previews included")
    func oneFleet() async throws {
        try await withNodes([.init(.test("gpu-a", checkpoints: [Self.model])), .init(.test("gpu-b", checkpoints: [Self.model]))]) { _, base in
            var config = base
            config.store = .postgres(ClusterConfig.Postgres(url: try TestPostgres.freshDatabase(), poolSize: 4))
            try await withSharedCoordinators(config, count: 2) { ports in
                try await Self.waitForLeader(ports)
                let (x, y) = (TestClient(port: ports[0]), TestClient(port: ports[1]))
                try await withWebSocket(port: ports[1], clientID: "far-client", featureFlags: ["supports_preview_metadata": true]) { socket in
                    let body: JSONValue = ["prompt": TestFleet.prompt(checkpoint: Self.model, steps: 6), "client_id": "far-client"]
                    let viaX = try await x.submit(body)
                    let viaY = try await y.submit(body)
                    try await socket.waitForEnd(of: viaX, timeout: 20)
                    try await socket.waitForEnd(of: viaY, timeout: 20)
                    for id in [viaX, viaY] {
                        let mine = socket.received.filter {
                            $0.message.map { $0["data"]?["prompt_id"]?.stringValue == id } ?? true
                        }.map(\.token)
                        #expect(mine.contains("execution_start") && mine.contains("progress") && mine.contains("executed"))
                        #expect(mine.contains { $0.hasPrefix("binary:") }, "previews reach the client on the other coordinator")
                    }
                    // One history, read through either.
                    let fromX = try await x.waitForHistory(viaY)
                    let fromY = try await y.waitForHistory(viaX)
                    #expect(fromX["status"]?["status_str"]?.stringValue == "success")
                    #expect(fromY["status"]?["status_str"]?.stringValue == "success")
                    #expect(try await x.get("/history").json?.objectValue?.count == 2)
                    #expect(try await y.get("/history").json?.objectValue?.count == 2)
                }
            }
        }
    }
}

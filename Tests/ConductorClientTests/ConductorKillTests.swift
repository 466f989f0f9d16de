import ComfyWire
import ConductorCore
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// `conductor serve` killed with SIGKILL (kill -9) at several moments while it accepts, dispatches and relays jobs,
/// then started again on the same data directory: every accepted job completes, once, and nothing runs twice.
@Suite("Conductor killed with SIGKILL")
struct ConductorKillTests {
    static let model = "v1-5-pruned-emaonly.safetensors"

    /// Starts `conductor serve` and waits for its banner; returns the process and its base URL.
    static func serve(_ configFile: URL) async throws -> (CLIProcess, TestClient) {
        let process = try CLIProcess(["serve", "--config", configFile.path, "--log-level", "warning"])
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let range = process.stdout.range(of: "listening on http://127.0.0.1:"),
                let port = Int(process.stdout[range.upperBound...].prefix { $0.isNumber })
            {
                return (process, TestClient(port: port))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.stop()
        throw CLIMissing(description: "conductor serve did not start: \(await process.wait().stderr)")
    }

    @Test("killed after accepting, mid-dispatch and mid-run: after restart every job completes once, none re-run")
    func killNine() async throws {
        let specs = ["a", "b"].map { TestNodeSpec(.test($0, checkpoints: [Self.model], timeScale: 0.02), maxOutstanding: 2) }
        try await withNodes(specs) { started, config in
            try await withTemporaryDirectory { directory in
                let nodes: [JSONValue] = config.nodes.map { ["name": .string($0.name), "url": .string($0.url), "maxOutstanding": 2] }
                let cluster: JSONValue = [
                    "nodes": .array(nodes), "dataDirectory": .string(directory.appendingPathComponent("data").path),
                    "pollIntervalSeconds": 0.1, "listen": ["host": "127.0.0.1", "port": 0]
                ]
                let file = directory.appendingPathComponent("cluster.json")
                try Data(cluster.serialized(.compact)).write(to: file)
                var accepted: [String] = []
                // Killed right after the 200s, while dispatching, and while the first jobs run and their events flow.
                for (round, pause) in [0, 30, 150, 400].enumerated() {
                    let (process, client) = try await Self.serve(file)
                    for index in 0..<3 {
                        let prompt = TestFleet.prompt(checkpoint: Self.model, seed: round * 10 + index, steps: 10)
                        accepted.append(try await client.submit(["prompt": prompt, "client_id": .string("kill-\(round)")]))
                    }
                    try await Task.sleep(for: .milliseconds(pause))
                    process.stop()
                    _ = await process.wait()
                }
                let (process, client) = try await Self.serve(file)
                defer { process.stop() }
                for id in accepted {
                    let entry = try await client.waitForHistory(id, timeout: 60)
                    #expect(entry["status"]?["status_str"] == "success", "\(id)")
                }
                let history = try #require(try await client.get("/history").json?.objectValue)
                #expect(Set(history.keys) == Set(accepted), "one history entry per accepted job, no other")
                var executions = 0
                for (_, node) in started { executions += await node.node.executionCount }
                #expect(executions == accepted.count, "jobs running on nodes were re-attached, not run again")
                #expect(try await client.get("/queue").json == ["queue_running": [], "queue_pending": []])
            }
        }
    }
}

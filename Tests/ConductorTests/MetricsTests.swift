import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import SimulatedNode
import Testing

/// `/metrics` in Prometheus' text format, as a scraper sees it.
@Suite("Prometheus metrics")
struct MetricsTests {
    static let sd15 = "v1-5-pruned-emaonly.safetensors"

    /// The sample lines of an exposition, `name{labels} value`, without comments.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            samples[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        return samples
    }

    @Test("/metrics counts jobs by node, times queue waits, decisions and runs, and shows the fleet's state")
    func exposition() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.sd15]))]) { fleet in
            let id = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.sd15), "client_id": "m"])
            _ = try await fleet.conductor.waitForHistory(id)
            let answer = try await fleet.conductor.get("/metrics")
            #expect(answer.status == 200)
            #expect(answer.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(answer.text.contains("# TYPE conductor_job_duration_seconds histogram"))
            let samples = Self.samples(answer.text)
            #expect(samples[#"conductor_jobs_finished_total{node="a",status="success"}"#] == 1)
            #expect(samples[#"conductor_job_duration_seconds_count{node="a",checkpoint="\#(Self.sd15)"}"#] == 1)
            #expect(samples[#"conductor_checkpoint_swaps_total{node="a"}"#] == 1, "the first job loaded the checkpoint")
            #expect(samples["conductor_queue_wait_seconds_count"] == 1)
            #expect((samples["conductor_dispatch_decision_seconds_count"] ?? 0) >= 1)
            #expect(samples[#"conductor_queue_jobs{state="queued"}"#] == 0)
            #expect(samples[#"conductor_node_health{node="a",state="up"}"#] == 1)
            #expect(samples[#"conductor_node_health{node="a",state="down"}"#] == 0)
            #expect(samples[#"conductor_node_draining{node="a"}"#] == 0)
            #expect((samples[#"conductor_node_vram_total_bytes{node="a"}"#] ?? 0) > 0)
            #expect(samples["conductor_bytes_moved_total"] == 0)
            #expect(samples["conductor_websocket_clients"] == 0)
            #expect(samples[#"conductor_http_request_duration_seconds_count{route="/prompt",method="POST",status="200"}"#] == 1)
        }
    }

    @Test("a waiting job shows in the queue depth, and a second Conductor in the process keeps its own books")
    func separateRegistries() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.sd15]), maxOutstanding: 1)]) { first in
            try await withFleet([TestNodeSpec(.test("z", checkpoints: [Self.sd15]))]) { second in
                await first.node("a").inject(.hang(true))
                for seed in 1...2 {
                    _ = try await first.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.sd15, seed: seed), "client_id": "m"])
                }
                try await eventually("one running, one queued") {
                    let samples = Self.samples(try await first.conductor.get("/metrics").text)
                    return samples[#"conductor_queue_jobs{state="running"}"#] == 1 && samples[#"conductor_queue_jobs{state="queued"}"#] == 1
                }
                let other = try await second.conductor.get("/metrics").text
                #expect(!other.contains(#"node="a""#))
                #expect(other.contains(#"conductor_node_health{node="z",state="up"} 1"#))
                #expect(Self.samples(other)[#"conductor_queue_jobs{state="queued"}"#] == 0)
                await first.node("a").inject(.hang(false))
            }
        }
    }
}

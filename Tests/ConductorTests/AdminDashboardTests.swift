import AsyncHTTPClient
import ComfyWire
import Conductor
import ConductorCore
import ConductorTesting
import Foundation
import NIOCore
import NIOHTTP1
import SimulatedNode
import Testing

/// The dashboard at /conductor/ and its live feed.
@Suite("Dashboard")
struct AdminDashboardTests {
    static let sd15 = "v1-5-pruned-emaonly.safetensors"

    @Test("/conductor/ serves the dashboard page, with and without the trailing slash")
    func page() async throws {
        try await withFleet([TestNodeSpec(.test("a", checkpoints: [Self.sd15]))]) { fleet in
            for path in ["/conductor/", "/conductor"] {
                let page = try await fleet.conductor.get(path)
                #expect(page.status == 200, "\(path)")
                #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
                #expect(page.text.contains("<title>Conductor</title>"))
                #expect(page.text.contains(#"<div id="nodes""#))
                #expect(page.text.contains("new EventSource"))
            }
            #expect(try await fleet.conductor.get("/conductor/nosuchpage").status == 404, "not forwarded to a node")
        }
    }

    @Test("the event stream sends the fleet's state at once and again as a job runs and finishes")
    func eventStream() async throws {
        try await withFleet(["a", "b", "c"].map { TestNodeSpec(.test($0, checkpoints: [Self.sd15])) }) { fleet in
            var request = HTTPClientRequest(url: fleet.conductor.base + "/conductor/api/events")
            request.method = .GET
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status.code == 200)
            #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
            var buffer = ""
            var states: [JSONValue] = []
            var id: String?
            var sawRunning = false
            reading: for try await chunk in response.body {
                buffer += String(buffer: chunk)
                while let end = buffer.range(of: "\n\n") {
                    let event = String(buffer[..<end.lowerBound])
                    buffer = String(buffer[end.upperBound...])
                    guard event.hasPrefix("data: "), let state = try? JSONValue(parsing: String(event.dropFirst(6))) else { continue }
                    states.append(state)
                    if states.count == 1 {
                        #expect(state["nodes"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["a", "b", "c"])
                        for name in ["a", "b", "c"] { await fleet.node(name).inject(.hang(true)) }
                        id = try await fleet.conductor.submit(["prompt": TestFleet.prompt(checkpoint: Self.sd15), "client_id": "d"])
                    }
                    guard let id else { continue }
                    // Running: on its node's card, and at the head of the queue.
                    // Checked at the first sighting, while the nodes still hang (later states may lag a finished job).
                    if !sawRunning, let node = state["nodes"]?.arrayValue?.first(where: { $0["current"]?["id"]?.stringValue == id }) {
                        sawRunning = true
                        #expect(state["queue"]?[0]?["state"] == "running")
                        #expect(node["outstanding"]?["running"] == 1)
                        for name in ["a", "b", "c"] { await fleet.node(name).inject(.hang(false)) }
                    }
                    if state["history"]?.arrayValue?.contains(where: { $0["id"]?.stringValue == id && $0["state"] == "success" }) == true {
                        break reading
                    }
                }
            }
            let running = states.contains { state in state["nodes"]?.arrayValue?.contains { $0["current"]?["id"]?.stringValue == id } == true }
            #expect(running, "the job showed as running before it finished")
            #expect(states.count >= 3)
        }
    }

    @Test("utilisation is the busy share of each minute over the last hour, oldest first")
    func utilisation() {
        var history = UtilisationHistory()
        let start = 1_000_000.0 * 60
        for second in 0..<60 { history.record(busy: second < 15, at: start + Double(second)) }
        for second in 0..<60 { history.record(busy: true, at: start + 120 + Double(second)) }
        let shares = history.shares(at: start + 150)
        #expect(shares.count == 60)
        #expect(shares[59] == 1)
        #expect(shares[58] == nil, "a minute without samples")
        #expect(shares[57] == 0.25)
        #expect(shares[..<57].allSatisfy { $0 == nil })
        // An hour later the old minutes have left the window, even where the ring reuses their slots.
        history.record(busy: false, at: start + 3600 + 10)
        let later = history.shares(at: start + 3600 + 10)
        #expect(later[59] == 0)
        #expect(later.compactMap { $0 } == [1, 0], "only the minute 2 and the new one remain: \(later.compactMap { $0 })")
    }
}
